package pretrain

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/nn"
)

// Layers that Extract can return.
const (
	LayerZ = "z" // the normalised feature-encoder output, [frames, ConvDim]
	LayerC = "c" // the context network's output (no masking), [frames, Dim]
	LayerQ = "q" // the quantized frames (argmax codes), [frames, quantizer Dim]
)

// Extract runs the model in inference mode on one utterance (16 kHz mono;
// it is normalised to zero mean and unit variance first, as in training)
// and returns the chosen layer as a frames x dim row-major matrix. Input
// shorter than the encoder's receptive field is an error.
func (m *Model) Extract(samples []float32, layer string) (data []float32, frames, dim int, err error) {
	if layer != LayerZ && layer != LayerC && layer != LayerQ {
		return nil, 0, 0, fmt.Errorf("pretrain: extract: unknown layer %q (want z, c or q)", layer)
	}
	if layer == LayerQ && m.clusterTargets() {
		return nil, 0, 0, errors.New("pretrain: extract: this model was trained on cluster targets and has no trained quantizer: no layer q (want z or c)")
	}
	L := len(samples)
	T := m.Frames(L)
	if T < 1 {
		return nil, 0, 0, fmt.Errorf("pretrain: extract: %d samples is shorter than the %d the encoder needs", L, m.MinSamples())
	}
	lp, err := m.layerProgram(L, layer)
	if err != nil {
		return nil, 0, 0, err
	}
	defer lp.prog.Close()
	return lp.run(samples)
}

// layerProgram is a compiled inference graph from one utterance of L
// samples to a layer.
type layerProgram struct {
	m       *Model
	L       int
	prog    *nn.Program
	in, out *nn.Node
}

// layerProgram compiles the graph from L samples to layer.
func (m *Model) layerProgram(L int, layer string) (*layerProgram, error) {
	g := nn.NewGraph()
	in := g.Input("input", m.input.Shape(1, L)...)
	z, proj := m.Encoder.Embed(g, m.Encoder.Features(g, in))
	var out *nn.Node
	switch layer {
	case LayerZ:
		out = z
	case LayerC:
		out = m.Encoder.Context(g, proj, nil)
	case LayerQ:
		out = m.Quantizer.Forward(g, z, false).Q
	}
	p, err := g.Compile(nil, out)
	if err != nil {
		return nil, fmt.Errorf("pretrain: extract: %w", err)
	}
	return &layerProgram{m: m, L: L, prog: p, in: in, out: out}, nil
}

// run runs the program on samples (len L), normalised first as the loader
// does for training, and returns the layer as frames x dim.
func (lp *layerProgram) run(samples []float32) (data []float32, frames, dim int, err error) {
	x := slices.Clone(samples)
	audio.Normalize(x)
	p, out, T := lp.prog, lp.out, lp.m.Frames(lp.L)
	p.Set(lp.in, lp.m.input.Batch([][]float32{x}, lp.L))
	if err := p.Run(); err != nil {
		return nil, 0, 0, fmt.Errorf("pretrain: extract: %w", err)
	}
	v := p.Value(out) // [1, dim, T]
	dim = out.Shape()[1]
	data = make([]float32, T*dim)
	for c := range dim {
		for t := range T {
			data[t*dim+c] = v[c*T+t]
		}
	}
	return data, T, dim, nil
}

// WriteNpy writes a rows x cols float32 matrix as a NumPy .npy file
// (format 1.0, little-endian '<f4', C order).
func WriteNpy(w io.Writer, data []float32, rows, cols int) error {
	if rows*cols != len(data) || rows < 0 || cols < 0 {
		return fmt.Errorf("pretrain: npy: %d values for shape (%d, %d)", len(data), rows, cols)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// magic (6) + version (2) + header length (2) + header + '\n', padded
	// with spaces to a multiple of 64 bytes.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// WriteNpyFile writes the matrix to path (through a temporary file that is
// renamed into place), checking every write and the close.
func WriteNpyFile(path string, data []float32, rows, cols int) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err = WriteNpy(f, data, rows, cols); err != nil {
		f.Close()
		return fmt.Errorf("pretrain: %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("pretrain: %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	return nil
}

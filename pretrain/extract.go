package pretrain

import (
	"bufio"
	"fmt"
	"io"
	"slices"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/internal/npy"
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
	if err := m.checkLayer(layer); err != nil {
		return nil, 0, 0, err
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

// checkLayer returns an error for a layer the model cannot give.
func (m *Model) checkLayer(layer string) error {
	if layer != LayerZ && layer != LayerC && layer != LayerQ {
		return fmt.Errorf("pretrain: extract: unknown layer %q (want z, c or q)", layer)
	}
	if layer == LayerQ && !m.quantizerTargets() {
		return fmt.Errorf("pretrain: extract: this model was trained on %s targets and has no trained quantizer: no layer q (want z or c)", m.Config.Pretrain.Targets)
	}
	return nil
}

// extractWindowSeconds is the audio ExtractTo runs through the network at
// once, and extractMarginSeconds how much of it, at least, each window
// leaves on either side of the frames it keeps.
const (
	extractWindowSeconds = 30.0
	extractMarginSeconds = 1.5
)

// ExtractTo runs the model in inference mode on the WAV stream r and writes
// the chosen layer to w as a NumPy .npy matrix of frames x dim float32 (see
// WriteNpy), returning its shape. r must be seekable: it is read twice for
// the mean and variance that normalise it as in training, then once more.
// The network sees windows of 30 s that keep their centre frames, each with
// at least the context network's reach (and 1.5 s) of audio on either
// side, so the matrix is the whole-input run's (up to float rounding) in
// memory bounded by a window, whatever the input's length. Nothing is
// written when the stream is refused (malformed, or too short).
func (m *Model) ExtractTo(w io.Writer, r io.ReadSeeker, layer string) (frames, dim int, err error) {
	if err := m.checkLayer(layer); err != nil {
		return 0, 0, err
	}
	win := m.Frames(int(extractWindowSeconds * audio.SampleRate))
	margin := max(m.reach(), m.Frames(int(extractMarginSeconds*audio.SampleRate)))
	progs := nn.NewCache[int, *layerProgram](2) // by window length: two at most
	defer progs.Clear()
	frames, dim, err = npy.Windows(w, r, m.input, !m.Config.NoNormalize, win, margin, func(x []float32) ([]float32, int, error) {
		lp, err := progs.Get(len(x), func() (*layerProgram, error) { return m.layerProgram(len(x), layer) })
		if err != nil {
			return nil, 0, err
		}
		data, _, d, err := lp.runNormalised(x)
		return data, d, err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("pretrain: extract: %w", err)
	}
	return frames, dim, nil
}

// layerProgram is a compiled inference graph from one utterance of L
// samples to a layer.
type layerProgram struct {
	m       *Model
	L       int
	prog    *nn.Program
	in, out *nn.Node
}

// Close releases the compiled program.
func (lp *layerProgram) Close() error { return lp.prog.Close() }

// layerProgram compiles the graph from L samples to layer.
func (m *Model) layerProgram(L int, layer string) (*layerProgram, error) {
	g := nn.NewGraph()
	in := g.Input("input", m.input.Shape(1, L)...)
	_, z, proj := m.embed(g, in)
	var out *nn.Node
	switch layer {
	case LayerZ:
		out = z
	case LayerC:
		out = m.context(g, proj)
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
	if !lp.m.Config.NoNormalize {
		audio.Normalize(x)
	}
	return lp.runNormalised(x)
}

// runNormalised is run on samples already normalised (or, with
// NoNormalize, as they are).
func (lp *layerProgram) runNormalised(x []float32) (data []float32, frames, dim int, err error) {
	p, out, T := lp.prog, lp.out, lp.m.Frames(lp.L)
	p.Set(lp.in, lp.m.input.Batch([][]float32{x}, lp.L))
	if err := p.Run(); err != nil {
		return nil, 0, 0, fmt.Errorf("pretrain: extract: %w", err)
	}
	v := p.Value(out) // [1, dim, T]
	dim = out.Shape()[1]
	return npy.FramesMajor(v, dim, T), T, dim, nil
}

// WriteNpy writes a rows x cols float32 matrix as a NumPy .npy file
// (format 1.0, little-endian '<f4', C order).
func WriteNpy(w io.Writer, data []float32, rows, cols int) error {
	if rows*cols != len(data) || rows < 0 || cols < 0 {
		return fmt.Errorf("pretrain: npy: %d values for shape (%d, %d)", len(data), rows, cols)
	}
	bw := bufio.NewWriter(w)
	npy.WriteHeader(bw, rows, cols)
	npy.WriteFloats(bw, data)
	return bw.Flush()
}

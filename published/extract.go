package published

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/internal/npy"
	"github.com/wav2vec-go/wav2vec/nn"
)

// Layers a transformer model's ExtractTo writes: the feature encoder's
// output, or the transformer's (after the final norm of pre-LN models);
// "1" to the number of layers name each layer's output.
const (
	LayerFeatures = "z"
	LayerOutput   = "c"
)

// extractWindowSeconds and extractMarginSeconds size ExtractTo's windows.
const (
	extractWindowSeconds = 30.0
	extractMarginSeconds = 1.5
)

// ExtractTo runs the model's body on the WAV stream r and writes a layer
// to w as a .npy matrix of frames x channels, returning its shape. Long
// inputs go through in 30 s windows whose centre frames are kept, each
// with 1.5 s of audio on either side (attention sees a window, not the
// whole input: see encoder.TransformerConfig.Reach). r must be seekable.
func (m *Model) ExtractTo(w io.Writer, r io.ReadSeeker, layer string) (frames, dim int, err error) {
	c := m.Body.Config
	if err := m.checkLayer(layer); err != nil {
		return 0, 0, err
	}
	in, err := c.Input()
	if err != nil {
		return 0, 0, err
	}
	win := c.Frames(int(extractWindowSeconds * audio.SampleRate))
	margin := max(c.Reach(), c.Frames(int(extractMarginSeconds*audio.SampleRate)))
	progs := nn.NewCache[int, *layerProgram](2)
	defer progs.Clear()
	frames, dim, err = npy.Windows(w, r, in, m.Normalize, win, margin, func(x []float32) ([]float32, int, error) {
		lp, err := progs.Get(len(x), func() (*layerProgram, error) { return m.layerProgram(len(x), layer) })
		if err != nil {
			return nil, 0, err
		}
		return lp.run(x)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("published: extract: %w", err)
	}
	return frames, dim, nil
}

// checkLayer returns an error for a layer the model does not have.
func (m *Model) checkLayer(layer string) error {
	n, err := strconv.Atoi(layer)
	if layer == LayerFeatures || layer == LayerOutput || err == nil && n >= 1 && n <= m.Body.Config.Layers {
		return nil
	}
	return fmt.Errorf("published: extract: layer %q: want z, c or 1 to %d", layer, m.Body.Config.Layers)
}

// layerProgram is a compiled graph from L samples to a layer.
type layerProgram struct {
	prog    *nn.Program
	in, out *nn.Node
}

// Close releases the compiled program.
func (lp *layerProgram) Close() error { return lp.prog.Close() }

func (m *Model) layerProgram(L int, layer string) (*layerProgram, error) {
	g := nn.NewGraph()
	in := g.Input("input", 1, 1, L)
	feats := m.Body.Features(g, in)
	out := feats
	if layer != LayerFeatures {
		o := m.Body.Forward(g, feats, nil)
		out = o.Out
		if n, err := strconv.Atoi(layer); err == nil {
			out = o.Layers[n-1]
		}
	}
	p, err := g.Compile(nil, out)
	if err != nil {
		return nil, err
	}
	return &layerProgram{prog: p, in: in, out: out}, nil
}

// run returns the layer for one window as frames x channels.
func (lp *layerProgram) run(x []float32) ([]float32, int, error) {
	lp.prog.Set(lp.in, x)
	if err := lp.prog.Run(); err != nil {
		return nil, 0, err
	}
	v := lp.prog.Value(lp.out) // [1, C, T]
	C, T := lp.out.Shape()[1], lp.out.Shape()[2]
	return npy.FramesMajor(v, C, T), C, nil
}

// Extract runs the model's body on one utterance (16 kHz; normalised
// first when the model's preprocessor says so) and returns a layer (z, c
// or 1 to the number of layers) as frames x channels.
func (m *Model) Extract(samples []float32, layer string) (data []float32, frames, dim int, err error) {
	c := m.Body.Config
	if err := m.checkLayer(layer); err != nil {
		return nil, 0, 0, err
	}
	if c.Frames(len(samples)) < 1 {
		return nil, 0, 0, fmt.Errorf("published: extract: %d samples give no frame", len(samples))
	}
	x := slices.Clone(samples)
	if m.Normalize {
		audio.Normalize(x)
	}
	lp, err := m.layerProgram(len(x), layer)
	if err != nil {
		return nil, 0, 0, err
	}
	defer lp.Close()
	data, dim, err = lp.run(x)
	return data, c.Frames(len(x)), dim, err
}

// Hop returns the number of 16 kHz samples between two frames.
func (m *Model) Hop() int {
	h := 1
	for _, s := range m.Body.Config.ConvStrides {
		h *= s
	}
	return h
}

// Fresh returns a model of m's architecture with random weights drawn
// from a generator seeded with seed: a probe's baseline.
func (m *Model) Fresh(seed uint64) (*Model, error) {
	body, err := encoder.NewTransformer(m.Body.Config, rand.New(rand.NewPCG(seed, 0x9a7e)))
	if err != nil {
		return nil, err
	}
	return &Model{Arch: m.Arch, Body: body, Blank: -1, Delimiter: -1, Normalize: m.Normalize}, nil
}

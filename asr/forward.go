package asr

import (
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// bucketSamples is the padding granularity of a batch: padded lengths are
// rounded up to a multiple of one second, so that only a few graphs (one per
// batch size and length bucket) are ever compiled.
const bucketSamples = audio.SampleRate

// batchInput is a zero-padded batch laid out for a graph.
type batchInput struct {
	B, L    int       // rows, padded samples per row
	shape   []int     // of the input node: [B, 1, L] or [B, bins, Tm]
	data    []float32 // the input node's values
	T       int       // output frames of the padded length
	frames  []int     // real output frames per row
	valid   []float32 // [B, 1, T]: 1 on real frames
	seconds float64   // real audio in the batch
}

// prepare pads rows (normalised 16 kHz samples, each at least MinSamples
// long) into a batch whose length is rounded up to a multiple of bucket
// samples (0: no rounding).
func (m *Model) prepare(rows [][]float32, bucket int) (*batchInput, error) {
	return m.prepareWarped(rows, bucket, nil)
}

// prepareWarped is prepare with the log-mel features of row b computed with
// VTLN warp factor warps[b] (nil: none; see encoder.Input.BatchWarped).
func (m *Model) prepareWarped(rows [][]float32, bucket int, warps []float64) (*batchInput, error) {
	return m.preparePadded(rows, bucket, warps, 0)
}

// preparePadded is prepareWarped with rows padded to at least minL
// samples (a process's part of a batch padded as the whole batch is).
func (m *Model) preparePadded(rows [][]float32, bucket int, warps []float64, minL int) (*batchInput, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("asr: empty batch")
	}
	longest := 0
	for _, r := range rows {
		if err := m.checkLength(len(r)); err != nil {
			return nil, err
		}
		longest = max(longest, len(r))
	}
	L := longest
	if bucket > 0 {
		L = (longest + bucket - 1) / bucket * bucket
	}
	L = max(L, minL)
	B := len(rows)
	in := &batchInput{B: B, L: L, T: m.Frames(L), frames: make([]int, B)}
	in.valid = make([]float32, B*in.T)
	for b, r := range rows {
		in.frames[b] = m.Frames(len(r))
		for t := range in.frames[b] {
			in.valid[b*in.T+t] = 1
		}
		in.seconds += float64(len(r)) / audio.SampleRate
	}
	in.shape = m.input.Shape(B, L)
	data, err := m.input.BatchWarped(rows, L, warps)
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	in.data = data
	return in, nil
}

// graphKey identifies a compiled program: the batch shape, whether it
// trains, and the freeze phase (Compile fixes which params get gradients).
type graphKey struct {
	B, L  int
	train bool
	phase int
}

// program is a compiled graph of the model with its input and output nodes.
type program struct {
	p                  *nn.Program
	x, valid, msk, chn *nn.Node   // msk (frames) and chn (channels) are nil for inference programs
	keep               []*nn.Node // a transformer's layerdrop gates in training, one per layer
	logits             *nn.Node   // [B, V, T]
	ctc                *nn.CTCHandle
}

// build compiles the model's graph for key. A training graph has dropout,
// span masking of frames (replaced by the mask embedding) and of channels
// (zeroed), a transformer's layerdrop, and the CTC loss (mean over the
// batch, zero_infinity as a backstop: utterances too short for their
// labels are left out before).
func (m *Model) build(key graphKey, in *batchInput, seed uint64, opt trainOptions) (*program, error) {
	g := nn.NewGraph()
	g.Training = key.train
	g.Seed = seed
	pr := &program{}
	pr.x = g.Input("input", in.shape...)
	pr.valid = g.Input("valid", in.B, 1, in.T)
	var proj *nn.Node
	var maskEmb *nn.Param
	if t := m.Transformer; t != nil {
		proj, maskEmb = t.Project(g, t.Features(g, pr.x), pr.valid), t.MaskEmb
	} else {
		_, proj = m.Encoder.Embed(g, m.Encoder.Features(g, pr.x))
		maskEmb = m.Encoder.MaskEmb
	}
	if key.train {
		// As fairseq and Hugging Face do: masked frames become the mask
		// embedding, then masked channels are zeroed on every frame.
		pr.msk = g.Input("mask", in.B, 1, in.T)
		proj = g.MaskFrames(proj, pr.msk, g.Param(maskEmb))
		if opt.channels {
			pr.chn = g.Input("channel_keep", proj.Shape()...)
			proj = g.Mul(proj, pr.chn)
		}
	}
	var c *nn.Node
	if t := m.Transformer; t != nil {
		co := encoder.ContextOptions{ActivationDropout: opt.activationDropout}
		if key.train && opt.layerDrop {
			for i := range t.Config.Layers {
				pr.keep = append(pr.keep, g.Input(fmt.Sprintf("keep_layer_%d", i), in.B, 1, in.T))
			}
			co.Keep = pr.keep
		}
		c = t.Context(g, proj, pr.valid, co)
	} else {
		c = m.Encoder.Context(g, proj, pr.valid)
	}
	pr.logits = g.Conv1d(c, g.Param(m.HeadW), g.Param(m.HeadB), nn.ConvOpts{})
	var loss *nn.Node
	if key.train {
		loss, pr.ctc = g.CTC(pr.logits, nn.CTCConfig{Blank: m.Vocab.Blank(), ZeroInfinity: true}, nn.CTCMean)
	}
	var err error
	if loss != nil {
		pr.p, err = g.Compile(loss)
	} else {
		pr.p, err = g.Compile(nil, pr.logits)
	}
	if err != nil {
		return nil, fmt.Errorf("asr: building the model's graph for a batch of %d x %d samples: %w", in.B, in.L, err)
	}
	return pr, nil
}

// trainOptions are the regularisers a training graph holds (nothing for
// inference): channel masking, and a transformer's layerdrop and
// feed-forward dropout.
type trainOptions struct {
	channels, layerDrop bool
	activationDropout   float64
}

// progCache keeps a worker's compiled programs.
type progCache = nn.Cache[graphKey, *program]

func newProgCache(max int) *progCache { return nn.NewCache[graphKey, *program](max) }

// Close releases the program.
func (p *program) Close() error { return p.p.Close() }

// get returns the program for key, building it on first use.
func (m *Model) get(c *progCache, key graphKey, in *batchInput, seed uint64, opt trainOptions) (*program, error) {
	return c.Get(key, func() (*program, error) { return m.build(key, in, seed, opt) })
}

// logProbsOf returns row b of the logits [B, V, T] as a frames x V
// row-major matrix of log-softmax values.
func logProbsOf(logits []float32, B, V, T, b, frames int) []float32 {
	out := make([]float32, frames*V)
	base := b * V * T
	for t := range frames {
		mx := math.Inf(-1)
		for v := range V {
			mx = max(mx, float64(logits[base+v*T+t]))
		}
		var s float64
		for v := range V {
			s += math.Exp(float64(logits[base+v*T+t]) - mx)
		}
		lse := mx + math.Log(s)
		for v := range V {
			out[t*V+v] = float32(float64(logits[base+v*T+t]) - lse)
		}
	}
	return out
}

// forward runs the inference program for rows (normalised samples) and
// returns each row's frames x V log-probabilities.
func (m *Model) forward(c *progCache, rows [][]float32) ([][]float32, error) {
	bucket := bucketSamples
	if !m.exactPadding() {
		// Padding would change the normalisation: each row alone, unpadded.
		if len(rows) > 1 {
			out := make([][]float32, len(rows))
			for i, r := range rows {
				lp, err := m.forward(c, [][]float32{r})
				if err != nil {
					return nil, err
				}
				out[i] = lp[0]
			}
			return out, nil
		}
		bucket = 0
	}
	in, err := m.prepare(rows, bucket)
	if err != nil {
		return nil, err
	}
	pr, err := m.get(c, graphKey{B: in.B, L: in.L}, in, 0, trainOptions{})
	if err != nil {
		return nil, err
	}
	pr.p.Set(pr.x, in.data)
	pr.p.Set(pr.valid, in.valid)
	if err := pr.p.Run(); err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	logits := pr.p.Value(pr.logits)
	V := m.Vocab.Size()
	out := make([][]float32, in.B)
	for b := range in.B {
		out[b] = logProbsOf(logits, in.B, V, in.T, b, in.frames[b])
	}
	return out, nil
}

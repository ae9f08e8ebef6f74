package asr

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/features"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/onnx"
)

// ONNXOpset is the ONNX opset of ONNX's graphs: 17, read by onnxruntime
// 1.13 and later (it brought LayerNormalization).
const ONNXOpset = 17

// Names of the exported graph's input and output.
const (
	ONNXInput  = "audio"  // float32 [batch, samples], 16 kHz mono
	ONNXOutput = "logits" // float32 [batch, frames, vocab], log-softmax
)

// ONNXOptions are the choices of an ONNX export.
type ONNXOptions struct {
	// CallerNormalizes leaves the per-utterance normalisation out of the
	// graph: the caller feeds (x - mean) / sqrt(var + 1e-7) per utterance
	// (audio.Normalize), as the Transcriber does before it windows a long
	// file. By default the graph normalises each row itself, for the
	// models that normalise (ModelConfig.NoNormalize false).
	CallerNormalizes bool
}

// ONNX returns the model as an ONNX graph of opset 17, its weights folded
// for inference (weight norm applied, the attention's scale in the query
// projection). The graph reads ONNXInput, audio [batch, samples] of 16 kHz
// samples (any scale, in [-1, 1] as audio reads them), normalised per row
// in the graph unless opt.CallerNormalizes or the model takes its samples
// as they are, and gives ONNXOutput, [batch, Frames(samples), vocab]: the
// log-softmax of the head's output, what LogProbs returns and the decoders
// read, the blank at index 0. Every row is one utterance of the batch's
// length, at least MinSamples long: the graph has no padding mask.
// Convolutional models (waveform or log-mel input) and transformer models
// export.
func (m *Model) ONNX(opt ONNXOptions) (*onnx.Model, error) {
	b := &onnxBuilder{g: onnx.NewGraph("wav2vec")}
	g := b.g
	x := g.Input(ONNXInput, onnx.Float, onnx.Sym("batch"), onnx.Sym("samples"))
	normalize := "none: the model reads its samples as they are"
	switch {
	case m.Config.NoNormalize:
	case opt.CallerNormalizes:
		normalize = "caller: (x - mean) / sqrt(var + 1e-7) per utterance"
	default:
		normalize = "graph"
		x = b.normalize(x)
	}
	x = g.Op("Unsqueeze", []string{x, g.Int64s("axes", 1)}) // [B, 1, L]
	var h string
	if m.Transformer != nil {
		h = b.transformer(m.Transformer, x)
	} else {
		if mel := m.input.Mel(); mel != nil {
			x = b.logMel(mel, x)
		}
		h = b.convBody(m.Encoder, x)
	}
	if b.err != nil {
		return nil, b.err
	}
	V, D := m.HeadW.Shape[0], m.HeadW.Shape[1]
	logits := b.linear(h, &nn.Param{Name: headWeight, Shape: []int{V, D}, Data: m.HeadW.Data}, m.HeadB)
	out := g.Op("LogSoftmax", []string{logits}, onnx.Int("axis", -1))
	g.Output(ONNXOutput, out, onnx.Float, onnx.Sym("batch"), onnx.Sym("frames"), onnx.Fixed(V))
	vocab, err := json.Marshal(m.symbols)
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	return &onnx.Model{
		Graph: g, Opset: ONNXOpset, ProducerName: "wav2vec-go",
		Doc: "CTC recogniser: audio [batch, samples] (16 kHz) -> logits [batch, frames, vocab] (log-softmax, blank at 0)",
		Metadata: map[string]string{
			"vocab":         string(vocab),
			"blank":         "0",
			"word_boundary": strconv.Itoa(m.boundary),
			"frame_seconds": strconv.FormatFloat(m.FrameSeconds(), 'g', -1, 64),
			"min_samples":   strconv.Itoa(m.rf),
			"normalize":     normalize,
			"output":        "log_softmax",
		},
	}, nil
}

// onnxBuilder adds the model's layers to an ONNX graph; the first error
// sticks.
type onnxBuilder struct {
	g   *onnx.Graph
	err error
}

// normalize adds audio.Normalize of each row of x [B, L], in float64.
func (b *onnxBuilder) normalize(x string) string {
	g := b.g
	x = g.Op("Cast", []string{x}, onnx.Int("to", int64(onnx.Double)))
	mean := g.Op("ReduceMean", []string{x}, onnx.Ints("axes", 1), onnx.Int("keepdims", 1))
	d := g.Op("Sub", []string{x, mean})
	v := g.Op("ReduceMean", []string{g.Op("Mul", []string{d, d})}, onnx.Ints("axes", 1), onnx.Int("keepdims", 1))
	sd := g.Op("Sqrt", []string{g.Op("Add", []string{v, g.Doubles("eps", []float64{1e-7})})})
	return g.Op("Cast", []string{g.Op("Div", []string{d, sd})}, onnx.Int("to", int64(onnx.Float)))
}

// logMel adds mel's LogMel of x [B, 1, L] and returns [B, bins, frames].
// The frames are cut by a convolution with the identity (exact), and
// everything after, mean removal, pre-emphasis and window folded into one
// DFT matrix, the power, the filterbank and the log, runs in float64 as
// the extractor computes it.
func (b *onnxBuilder) logMel(mel *features.Extractor, x string) string {
	g := b.g
	cfg := mel.Config()
	n, F := cfg.FrameLength, cfg.NFFT/2+1
	eye := make([]float32, n*n)
	for i := range n {
		eye[i*n+i] = 1
	}
	frames := g.Op("Conv", []string{x, g.Floats("frame_eye", eye, n, 1, n)}, onnx.Ints("strides", int64(cfg.FrameShift)))
	frames = g.Op("Cast", []string{b.transpose(frames)}, onnx.Int("to", int64(onnx.Double))) // [B, T, n]
	// re[j, k] = sum_i A[i, j] cos(2 pi k i / NFFT), im likewise with -sin.
	A := mel.FrameMatrix()
	re, im := make([]float64, n*F), make([]float64, n*F)
	for i := range n {
		for k := range F {
			ang := 2 * math.Pi * float64(k*i%cfg.NFFT) / float64(cfg.NFFT)
			c, s := math.Cos(ang), -math.Sin(ang)
			for j := range n {
				a := A[i*n+j]
				re[j*F+k] += a * c
				im[j*F+k] += a * s
			}
		}
	}
	sq := func(w []float64) string {
		y := g.Op("MatMul", []string{frames, g.Doubles("dft", w, n, F)})
		return g.Op("Mul", []string{y, y})
	}
	power := g.Op("Add", []string{sq(re), sq(im)}) // [B, T, F]
	M := mel.MelMatrix()                           // [bins, F]
	bins := len(M) / F
	Mt := make([]float64, len(M))
	for i := range bins {
		for k := range F {
			Mt[k*bins+i] = M[i*F+k]
		}
	}
	e := g.Op("MatMul", []string{power, g.Doubles("mel", Mt, F, bins)})
	e = g.Op("Log", []string{g.Op("Max", []string{e, g.Doubles("floor", []float64{features.LogFloor})})})
	return b.transpose(g.Op("Cast", []string{e}, onnx.Int("to", int64(onnx.Float))))
}

// convBody adds the convolutional encoder on x ([B, 1, L] or log-mel
// [B, bins, T]) and returns c [B, T, Dim].
func (b *onnxBuilder) convBody(enc *encoder.Model, x string) string {
	for i, conv := range enc.FeatureConvs {
		x = b.conv(x, conv.Weight, conv.Bias, conv.Opts())
		x = b.transpose(b.gelu(b.layerNorm(b.transpose(x), enc.FeatureNorms[i])))
	}
	h := b.transpose(x) // [B, T, C]
	h = b.linear(b.layerNorm(h, enc.Norm), enc.Proj.Weight, enc.Proj.Bias)
	for _, blk := range enc.Blocks {
		y := b.transpose(b.conv(b.transpose(h), blk.Conv.Weight, blk.Conv.Bias, blk.Conv.Opts()))
		h = b.g.Op("Add", []string{h, b.gelu(b.layerNorm(y, blk.Norm))})
	}
	return b.layerNorm(h, enc.ContextNorm)
}

// weight adds p as a constant of its own shape.
func (b *onnxBuilder) weight(p *nn.Param) string {
	return b.g.Floats(p.Name, p.Data, p.Shape...)
}

// transpose swaps the last two axes of a rank-3 value.
func (b *onnxBuilder) transpose(x string) string {
	return b.g.Op("Transpose", []string{x}, onnx.Ints("perm", 0, 2, 1))
}

// conv adds a 1-D convolution of x [B, Cin, T] as nn.Graph.Conv1d does.
func (b *onnxBuilder) conv(x string, w, bias *nn.Param, o nn.ConvOpts) string {
	in := []string{x, b.weight(w)}
	if bias != nil {
		in = append(in, b.weight(bias))
	}
	return b.convWith(in, w.Shape[2], o)
}

func (b *onnxBuilder) convWith(in []string, K int, o nn.ConvOpts) string {
	return b.g.Op("Conv", in,
		onnx.Ints("kernel_shape", int64(K)),
		onnx.Ints("strides", int64(max(o.Stride, 1))),
		onnx.Ints("dilations", int64(max(o.Dilation, 1))),
		onnx.Ints("pads", int64(o.PadLeft), int64(o.PadRight)),
		onnx.Int("group", int64(max(o.Groups, 1))))
}

// layerNorm normalises x [B, T, C] over C with n's gain and bias.
func (b *onnxBuilder) layerNorm(x string, n *nn.LayerNorm) string {
	eps := n.Eps
	if eps == 0 {
		eps = 1e-5 // nn's default
	}
	return b.layerNormP(x, n.Gamma, n.Beta, eps)
}

func (b *onnxBuilder) layerNormP(x string, gamma, beta *nn.Param, eps float64) string {
	return b.g.Op("LayerNormalization", []string{x, b.weight(gamma), b.weight(beta)},
		onnx.Int("axis", -1), onnx.FloatAttr("epsilon", float32(eps)))
}

// gelu adds x * Phi(x) in the erf form, as nn's GELU, spelled as
// onnxruntime's Gelu fusion expects.
func (b *onnxBuilder) gelu(x string) string {
	g := b.g
	e := g.Op("Erf", []string{g.Op("Div", []string{x, g.Scalar("sqrt2", math.Sqrt2)})})
	y := g.Op("Mul", []string{x, g.Op("Add", []string{e, g.Scalar("one", 1)})})
	return g.Op("Mul", []string{y, g.Scalar("half", 0.5)})
}

// linear adds x [B, T, In] w^T + bias, w [Out, In] (bias may be nil).
func (b *onnxBuilder) linear(x string, w, bias *nn.Param) string {
	return b.linearScaled(x, w, bias, 1)
}

// linearScaled is linear with w and bias multiplied by s.
func (b *onnxBuilder) linearScaled(x string, w, bias *nn.Param, s float64) string {
	Out, In := w.Shape[0], w.Shape[1]
	wt := make([]float32, In*Out)
	for o := range Out {
		for i := range In {
			wt[i*Out+o] = float32(float64(w.Data[o*In+i]) * s)
		}
	}
	y := b.g.Op("MatMul", []string{x, b.g.Floats(w.Name, wt, In, Out)})
	if bias == nil {
		return y
	}
	bs := make([]float32, Out)
	for i, v := range bias.Data {
		bs[i] = float32(float64(v) * s)
	}
	return b.g.Op("Add", []string{y, b.g.Floats(bias.Name, bs, Out)})
}

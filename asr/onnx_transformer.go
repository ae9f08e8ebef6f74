package asr

import (
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/onnx"
)

// transformer adds a transformer body on x [B, 1, L] and returns its
// output [B, T, Dim], as encoder.Transformer's Features, Project and
// Context compute it with every frame real.
func (b *onnxBuilder) transformer(t *encoder.Transformer, x string) string {
	c := t.Config
	g := b.g
	p := func(name string) *nn.Param {
		q := t.Param(name)
		if q == nil && b.err == nil {
			b.err = fmt.Errorf("asr: exporting to ONNX: the transformer has no parameter %s", name)
		}
		if q == nil {
			return &nn.Param{Name: name, Shape: []int{1, 1, 1}, Data: []float32{0}}
		}
		return q
	}
	for i := range c.ConvDims {
		name := fmt.Sprintf("feature_extractor.conv_layers.%d.", i)
		var bias *nn.Param
		if c.ConvBias {
			bias = p(name + "conv.bias")
		}
		x = b.conv(x, p(name+"conv.weight"), bias, nn.ConvOpts{Stride: c.ConvStrides[i]})
		switch {
		case c.FeatureNorm == "layer":
			// nn's default eps: the toolkit's feature norms keep it.
			x = b.transpose(b.gelu(b.layerNormP(b.transpose(x), p(name+"layer_norm.weight"), p(name+"layer_norm.bias"), 1e-5)))
		case i == 0: // a GroupNorm with a group per channel: instance norm
			x = g.Op("InstanceNormalization", []string{x, b.weight(p(name + "layer_norm.weight")), b.weight(p(name + "layer_norm.bias"))},
				onnx.FloatAttr("epsilon", 1e-5))
			x = b.gelu(x)
		default:
			x = b.gelu(x)
		}
	}
	h := b.transpose(x) // [B, T, C]
	if !c.NoFeatureProjNorm {
		h = b.layerNormP(h, p("feature_projection.layer_norm.weight"), p("feature_projection.layer_norm.bias"), c.Eps)
	}
	h = b.linear(h, p("feature_projection.projection.weight"), p("feature_projection.projection.bias"))
	// The positional convolution, its weight norm folded in.
	v, gain := p("encoder.pos_conv_embed.conv.weight_v"), p("encoder.pos_conv_embed.conv.weight_g")
	w := &nn.Param{Name: "encoder.pos_conv_embed.conv.weight", Shape: v.Shape, Data: foldWeightNorm(v, gain)}
	pad := c.PosKernel / 2
	pos := b.conv(b.transpose(h), w, p("encoder.pos_conv_embed.conv.bias"),
		nn.ConvOpts{Groups: c.PosGroups, PadLeft: pad, PadRight: pad - 1 + c.PosKernel%2})
	h = g.Op("Add", []string{h, b.gelu(b.transpose(pos))})
	norm := func(h, name string) string { return b.layerNormP(h, p(name+".weight"), p(name+".bias"), c.Eps) }
	if !c.PreLN {
		h = norm(h, "encoder.layer_norm")
	}
	for i := range c.Layers {
		name := fmt.Sprintf("encoder.layers.%d.", i)
		attend := func(h string) string {
			lin := func(n string, s float64) string {
				return b.linearScaled(h, p(name+"attention."+n+".weight"), p(name+"attention."+n+".bias"), s)
			}
			a := b.attention(lin("q_proj", 1/math.Sqrt(float64(c.Dim/c.Heads))), lin("k_proj", 1), lin("v_proj", 1), c.Heads, c.Dim)
			return b.linear(a, p(name+"attention.out_proj.weight"), p(name+"attention.out_proj.bias"))
		}
		ff := func(h string) string {
			h = b.gelu(b.linear(h, p(name+"feed_forward.intermediate_dense.weight"), p(name+"feed_forward.intermediate_dense.bias")))
			return b.linear(h, p(name+"feed_forward.output_dense.weight"), p(name+"feed_forward.output_dense.bias"))
		}
		if c.PreLN {
			h = g.Op("Add", []string{h, attend(norm(h, name+"layer_norm"))})
			h = g.Op("Add", []string{h, ff(norm(h, name+"final_layer_norm"))})
		} else {
			h = norm(g.Op("Add", []string{h, attend(h)}), name+"layer_norm")
			h = norm(g.Op("Add", []string{h, ff(h)}), name+"final_layer_norm")
		}
	}
	if c.PreLN {
		h = norm(h, "encoder.layer_norm")
	}
	return h
}

// attention adds multi-head attention of q, k, v [B, T, D] (q already
// scaled by 1/sqrt(D/heads)) and returns [B, T, D].
func (b *onnxBuilder) attention(q, k, v string, heads, D int) string {
	g := b.g
	split := g.Int64s("heads_shape", 0, 0, int64(heads), int64(D/heads))
	perm := func(x string, p ...int64) string {
		return g.Op("Transpose", []string{g.Op("Reshape", []string{x, split})}, onnx.Ints("perm", p...))
	}
	s := g.Op("MatMul", []string{perm(q, 0, 2, 1, 3), perm(k, 0, 2, 3, 1)}) // [B, H, T, T]
	a := g.Op("MatMul", []string{g.Op("Softmax", []string{s}, onnx.Int("axis", -1)), perm(v, 0, 2, 1, 3)})
	a = g.Op("Transpose", []string{a}, onnx.Ints("perm", 0, 2, 1, 3)) // [B, T, H, dh]
	return g.Op("Reshape", []string{a, g.Int64s("model_shape", 0, 0, int64(D))})
}

// foldWeightNorm returns gain[k] v[o, i, k] / ||v[:, :, k]||, as
// nn.Graph.WeightNorm computes it.
func foldWeightNorm(v, gain *nn.Param) []float32 {
	K := v.Shape[len(v.Shape)-1]
	n := make([]float64, K)
	for i, x := range v.Data {
		n[i%K] += float64(x) * float64(x)
	}
	w := make([]float32, len(v.Data))
	for i, x := range v.Data {
		k := i % K
		w[i] = float32(float64(gain.Data[k]) * float64(x) / math.Sqrt(n[k]))
	}
	return w
}

package pretrain

import (
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
)

// decoder is data2vec 2.0's convolutional decoder (fairseq's
// examples/data2vec/models/modalities/base.py, Decoder1d), which the
// teacher targets use in place of a linear head when DecoderLayers > 0:
//
//	x = c                                                 [B, Dim, T]
//	for each block: y = GELU(LayerNorm(Conv(x)))          [B, DecoderDim, T]
//	                x = y + x when the channels match, else y
//	prediction = Head(x)                                  [B, Dim, T]
//
// Conv is a grouped convolution of DecoderKernel frames centred on each
// frame (zero padding at the ends) and LayerNorm normalises each frame
// over its channels. data2vec 2.0's layer norm has no gains or biases; this
// one has them (starting at 1 and 0), the only difference. The decoder
// sees the frames around a masked one, so the context network's output
// need not carry every detail of the targets itself.
type decoder struct {
	convs []*nn.Conv1d
	norms []*nn.LayerNorm
}

// decoderPrefix names the decoder's parameters in a checkpoint:
// pretrain.decoder.blocks.N.conv.{weight,bias} and .norm.{weight,bias}.
const decoderPrefix = "pretrain.decoder.blocks."

// newDecoder adds the decoder of pc on dim channels to ps.
func newDecoder(ps *nn.Params, pc Config, dim int, rng *rand.Rand) (*decoder, error) {
	d := &decoder{}
	in := dim
	for i := range pc.DecoderLayers {
		name := fmt.Sprintf("%s%d.", decoderPrefix, i)
		conv, err := nn.NewConv1d(ps, name+"conv", nn.Conv1dConfig{
			In: in, Out: pc.DecoderDim, Kernel: pc.DecoderKernel, Groups: pc.DecoderGroups, Padding: nn.PadCentred}, rng)
		if err != nil {
			return nil, fmt.Errorf("pretrain: the decoder: %w", err)
		}
		norm, err := nn.NewLayerNorm(ps, name+"norm", pc.DecoderDim)
		if err != nil {
			return nil, fmt.Errorf("pretrain: the decoder: %w", err)
		}
		d.convs = append(d.convs, conv)
		d.norms = append(d.norms, norm)
		in = pc.DecoderDim
	}
	return d, nil
}

// forward adds the decoder's blocks to g on x [B, Dim, T] and returns
// [B, DecoderDim, T], the head's input.
func (d *decoder) forward(g *nn.Graph, x *nn.Node) *nn.Node {
	for i, conv := range d.convs {
		y := g.GELU(d.norms[i].Forward(g, conv.Forward(g, x)))
		if conv.Config.In == conv.Config.Out {
			y = g.Add(y, x)
		}
		x = y
	}
	return x
}

// decoderShapes returns the decoder's parameters' names and shapes, in
// newDecoder's order, for a context network of dim channels.
func decoderShapes(pc Config, dim nn.Dim) []nn.ParamShape {
	var ps []nn.ParamShape
	out := nn.Dim{Size: pc.DecoderDim, Field: "pretrain.decoder_dim"}
	k := nn.Dim{Size: pc.DecoderKernel, Field: "pretrain.decoder_kernel"}
	in := dim
	for i := range pc.DecoderLayers {
		name := fmt.Sprintf("%s%d.", decoderPrefix, i)
		ps = append(ps,
			nn.ParamShape{Name: name + "conv.weight", Dims: []nn.Dim{out, {Size: in.Size / pc.DecoderGroups, Field: "pretrain.decoder_groups"}, k}},
			nn.ParamShape{Name: name + "conv.bias", Dims: []nn.Dim{out}},
			nn.ParamShape{Name: name + "norm.weight", Dims: []nn.Dim{out}},
			nn.ParamShape{Name: name + "norm.bias", Dims: []nn.Dim{out}})
		in = out
	}
	return ps
}

// decoderFLOPs returns the decoder's and the head's forward operations on
// rows x frames frames of a context network of dim channels.
func decoderFLOPs(pc Config, rows, frames float64, dim int) float64 {
	in, f := dim, 0.0
	for range pc.DecoderLayers {
		f += 2 * rows * frames * float64(pc.DecoderDim*in/pc.DecoderGroups*pc.DecoderKernel)
		in = pc.DecoderDim
	}
	return f + 2*rows*frames*float64(in*dim) // the head
}

package nn

import (
	"fmt"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

// ConvOpts are the attributes of a 1-D convolution. Zero Stride and
// Dilation mean 1; padding is explicit, in frames, on each side (the
// Conv1d layer computes it from its Padding mode).
type ConvOpts struct {
	Stride, Dilation  int
	PadLeft, PadRight int
}

// Conv1d returns the 1-D convolution of x [B, Cin, T] with w [Cout, Cin, K],
// plus bias [Cout] when bias is not nil: [B, Cout, T'] with
// T' = (T + PadLeft + PadRight - Dilation*(K-1) - 1)/Stride + 1, as PyTorch's
// Conv1d (cross-correlation). An input too short to give one output frame
// is an error (a clip shorter than the receptive field).
func (g *Graph) Conv1d(x, w, bias *Node, o ConvOpts) *Node {
	in := []*Node{x, w}
	if bias != nil {
		in = append(in, bias)
	}
	if !g.ok(in...) {
		return &Node{g: g}
	}
	if len(x.shape) != 3 || len(w.shape) != 3 || x.shape[1] != w.shape[1] {
		return g.failf("conv1d: input %v and weights %v: want [B, Cin, T] and [Cout, Cin, K]", x.shape, w.shape)
	}
	if bias != nil && (len(bias.shape) != 1 || bias.shape[0] != w.shape[0]) {
		return g.failf("conv1d: bias %v for weights %v", bias.shape, w.shape)
	}
	if o.Stride < 0 || o.Dilation < 0 || o.PadLeft < 0 || o.PadRight < 0 {
		return g.failf("conv1d: negative stride, dilation or padding in %+v", o)
	}
	s := kernels.ConvShape{B: x.shape[0], Cin: x.shape[1], Cout: w.shape[0], Tin: x.shape[2], K: w.shape[2],
		Stride: max(o.Stride, 1), Dilation: max(o.Dilation, 1), PadLeft: o.PadLeft, PadRight: o.PadRight}
	if s.Tout() < 1 {
		return g.failf("conv1d: input of %d frames is too short for kernel %d (dilation %d, padding %d+%d)",
			s.Tin, s.K, s.Dilation, s.PadLeft, s.PadRight)
	}
	return g.apply(&convOp{s: s, bias: bias != nil}, []int{s.B, s.Cout, s.Tout()}, in...)
}

// convOp is y = conv(x, w) (+ bias): inputs x, w and optionally bias.
type convOp struct {
	s    kernels.ConvShape
	bias bool
}

func (k *convOp) name() string { return fmt.Sprintf("conv1d(%+v)", k.s) }

func (k *convOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		var b []float32
		if k.bias {
			b = in[2].f32
		}
		kernels.Conv1dForward(k.s, out.f32, in[0].f32, in[1].f32, b)
	} else {
		var b []float64
		if k.bias {
			b = in[2].f64
		}
		kernels.Conv1dForward64(k.s, out.f64, in[0].f64, in[1].f64, b)
	}
}

func (k *convOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, len(in))
	if need[0] {
		grads[0] = g.apply(&convDataOp{s: k.s}, in[0].shape, gout, in[1])
	}
	if need[1] {
		grads[1] = g.apply(&convWeightOp{s: k.s}, in[1].shape, in[0], gout)
	}
	if k.bias && need[2] {
		grads[2] = g.apply(&sumChannelsOp{}, in[2].shape, gout)
	}
	return grads
}

// convDataOp is dx = conv^T(dy, w): inputs dy, w.
type convDataOp struct{ s kernels.ConvShape }

func (k *convDataOp) name() string { return fmt.Sprintf("conv1d_grad_x(%+v)", k.s) }

func (k *convDataOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		clear(out.f32)
		kernels.Conv1dBackwardData(k.s, out.f32, in[0].f32, in[1].f32)
	} else {
		clear(out.f64)
		kernels.Conv1dBackwardData64(k.s, out.f64, in[0].f64, in[1].f64)
	}
}

// backward: dx is linear in dy and in w, and is itself a convolution.
func (k *convDataOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	if need[0] { // d/d(dy) <gout, conv^T(dy, w)> = conv(gout, w)
		grads[0] = g.apply(&convOp{s: k.s}, in[0].shape, gout, in[1])
	}
	if need[1] { // d/dw <gout, conv^T(dy, w)> = weight gradient of conv(gout) against dy
		grads[1] = g.apply(&convWeightOp{s: k.s}, in[1].shape, gout, in[0])
	}
	return grads
}

// convWeightOp is dw = correlation of x and dy: inputs x, dy.
type convWeightOp struct{ s kernels.ConvShape }

func (k *convWeightOp) name() string { return fmt.Sprintf("conv1d_grad_w(%+v)", k.s) }

func (k *convWeightOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		clear(out.f32)
		kernels.Conv1dBackwardWeight(k.s, out.f32, nil, in[0].f32, in[1].f32)
	} else {
		clear(out.f64)
		kernels.Conv1dBackwardWeight64(k.s, out.f64, nil, in[0].f64, in[1].f64)
	}
}

func (k *convWeightOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	if need[0] { // dw is linear in x: d/dx <gout, dw(x, dy)> = conv^T(dy, gout)
		grads[0] = g.apply(&convDataOp{s: k.s}, in[0].shape, in[1], gout)
	}
	if need[1] { // and in dy: d/d(dy) = conv(x, gout)
		grads[1] = g.apply(&convOp{s: k.s}, in[1].shape, in[0], gout)
	}
	return grads
}

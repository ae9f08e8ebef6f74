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
	// Groups splits the channels into this many groups convolved apart
	// (PyTorch's groups): w is then [Cout, Cin/Groups, K]. 0 means 1.
	Groups int
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
	groups := max(o.Groups, 1)
	if len(x.shape) != 3 || len(w.shape) != 3 || x.shape[1] != w.shape[1]*groups || w.shape[0]%groups != 0 {
		return g.failf("conv1d: input %v and weights %v in %d groups: want [B, Cin, T] and [Cout, Cin/groups, K]", x.shape, w.shape, groups)
	}
	if bias != nil && (len(bias.shape) != 1 || bias.shape[0] != w.shape[0]) {
		return g.failf("conv1d: bias %v for weights %v", bias.shape, w.shape)
	}
	if o.Stride < 0 || o.Dilation < 0 || o.PadLeft < 0 || o.PadRight < 0 {
		return g.failf("conv1d: negative stride, dilation or padding in %+v", o)
	}
	s := kernels.ConvShape{B: x.shape[0], Cin: w.shape[1], Cout: w.shape[0] / groups, Tin: x.shape[2], K: w.shape[2],
		Stride: max(o.Stride, 1), Dilation: max(o.Dilation, 1), PadLeft: o.PadLeft, PadRight: o.PadRight}
	if s.Tout() < 1 {
		return g.failf("conv1d: input of %d frames is too short for kernel %d (dilation %d, padding %d+%d)",
			s.Tin, s.K, s.Dilation, s.PadLeft, s.PadRight)
	}
	return g.apply(&convOp{s: s, groups: groups, bias: bias != nil}, []int{s.B, w.shape[0], s.Tout()}, in...)
}

// grouped calls f for each group of each sample with the shape of one
// group of one sample (s's Cin and Cout are already a group's) and the
// offsets of its x, w, y and bias.
func grouped(s kernels.ConvShape, groups int, f func(gs kernels.ConvShape, xo, wo, yo, bo int)) {
	if groups <= 1 {
		f(s, 0, 0, 0, 0)
		return
	}
	gs := s
	gs.B = 1
	for b := range s.B {
		for gi := range groups {
			f(gs, (b*groups+gi)*s.Cin*s.Tin, gi*s.Cout*s.Cin*s.K, (b*groups+gi)*s.Cout*s.Tout(), gi*s.Cout)
		}
	}
}

// groupSizes are the lengths of one call's x, w, y and bias.
func groupSizes(gs kernels.ConvShape) (x, w, y, b int) {
	return gs.B * gs.Cin * gs.Tin, gs.Cout * gs.Cin * gs.K, gs.B * gs.Cout * gs.Tout(), gs.Cout
}

// convOp is y = conv(x, w) (+ bias): inputs x, w and optionally bias.
type convOp struct {
	s      kernels.ConvShape // of one group
	groups int
	bias   bool
}

func (k *convOp) name() string { return fmt.Sprintf("conv1d(%+v, groups %d)", k.s, k.groups) }

func (k *convOp) forward(out buf, in []buf) {
	grouped(k.s, k.groups, func(gs kernels.ConvShape, xo, wo, yo, bo int) {
		nx, nw, ny, nb := groupSizes(gs)
		if out.f32 != nil {
			var b []float32
			if k.bias {
				b = in[2].f32[bo : bo+nb]
			}
			kernels.Conv1dForward(gs, out.f32[yo:yo+ny], in[0].f32[xo:xo+nx], in[1].f32[wo:wo+nw], b)
		} else {
			var b []float64
			if k.bias {
				b = in[2].f64[bo : bo+nb]
			}
			kernels.Conv1dForward64(gs, out.f64[yo:yo+ny], in[0].f64[xo:xo+nx], in[1].f64[wo:wo+nw], b)
		}
	})
}

func (k *convOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, len(in))
	if need[0] {
		grads[0] = g.apply(&convDataOp{s: k.s, groups: k.groups}, in[0].shape, gout, in[1])
	}
	if need[1] {
		grads[1] = g.apply(&convWeightOp{s: k.s, groups: k.groups}, in[1].shape, in[0], gout)
	}
	if k.bias && need[2] {
		grads[2] = g.apply(&sumChannelsOp{}, in[2].shape, gout)
	}
	return grads
}

// convDataOp is dx = conv^T(dy, w): inputs dy, w.
type convDataOp struct {
	s      kernels.ConvShape
	groups int
}

func (k *convDataOp) name() string { return fmt.Sprintf("conv1d_grad_x(%+v)", k.s) }

func (k *convDataOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		clear(out.f32)
	} else {
		clear(out.f64)
	}
	grouped(k.s, k.groups, func(gs kernels.ConvShape, xo, wo, yo, _ int) {
		nx, nw, ny, _ := groupSizes(gs)
		if out.f32 != nil {
			kernels.Conv1dBackwardData(gs, out.f32[xo:xo+nx], in[0].f32[yo:yo+ny], in[1].f32[wo:wo+nw])
		} else {
			kernels.Conv1dBackwardData64(gs, out.f64[xo:xo+nx], in[0].f64[yo:yo+ny], in[1].f64[wo:wo+nw])
		}
	})
}

// backward: dx is linear in dy and in w, and is itself a convolution.
func (k *convDataOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	if need[0] { // d/d(dy) <gout, conv^T(dy, w)> = conv(gout, w)
		grads[0] = g.apply(&convOp{s: k.s, groups: k.groups}, in[0].shape, gout, in[1])
	}
	if need[1] { // d/dw <gout, conv^T(dy, w)> = weight gradient of conv(gout) against dy
		grads[1] = g.apply(&convWeightOp{s: k.s, groups: k.groups}, in[1].shape, gout, in[0])
	}
	return grads
}

// convWeightOp is dw = correlation of x and dy: inputs x, dy.
type convWeightOp struct {
	s      kernels.ConvShape
	groups int
}

func (k *convWeightOp) name() string { return fmt.Sprintf("conv1d_grad_w(%+v)", k.s) }

func (k *convWeightOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		clear(out.f32)
	} else {
		clear(out.f64)
	}
	grouped(k.s, k.groups, func(gs kernels.ConvShape, xo, wo, yo, _ int) {
		nx, nw, ny, _ := groupSizes(gs)
		if out.f32 != nil {
			kernels.Conv1dBackwardWeight(gs, out.f32[wo:wo+nw], nil, in[0].f32[xo:xo+nx], in[1].f32[yo:yo+ny])
		} else {
			kernels.Conv1dBackwardWeight64(gs, out.f64[wo:wo+nw], nil, in[0].f64[xo:xo+nx], in[1].f64[yo:yo+ny])
		}
	})
}

func (k *convWeightOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	if need[0] { // dw is linear in x: d/dx <gout, dw(x, dy)> = conv^T(dy, gout)
		grads[0] = g.apply(&convDataOp{s: k.s, groups: k.groups}, in[0].shape, in[1], gout)
	}
	if need[1] { // and in dy: d/d(dy) = conv(x, gout)
		grads[1] = g.apply(&convOp{s: k.s, groups: k.groups}, in[1].shape, in[0], gout)
	}
	return grads
}

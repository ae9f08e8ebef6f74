package nn

import (
	"fmt"
	"math"
)

// SmoothL1 returns the smooth-L1 (Huber-like) loss of each element of x:
// 0.5 x^2 / beta where |x| < beta, |x| - 0.5 beta elsewhere (PyTorch's
// smooth_l1_loss before reduction, data2vec's loss with loss_beta > 0).
// beta must be positive: it panics otherwise (a programmer's mistake; 0
// is the squared error, g.Square).
func (g *Graph) SmoothL1(x *Node, beta float64) *Node {
	if !(beta > 0) || math.IsInf(beta, 0) {
		panic(fmt.Sprintf("nn: SmoothL1: beta %g, want positive and finite", beta))
	}
	if !g.ok(x) {
		return &Node{g: g}
	}
	return g.apply(&smoothL1Op{beta: beta}, x.shape, x)
}

// smoothL1Op is SmoothL1; its gradient is smoothL1GradOp.
type smoothL1Op struct{ beta float64 }

func (k *smoothL1Op) name() string { return fmt.Sprintf("smooth_l1(%g)", k.beta) }

func (k *smoothL1Op) forward(out buf, in []buf) {
	if out.f32 != nil {
		smoothL1Kernel(out.f32, in[0].f32, float32(k.beta))
	} else {
		smoothL1Kernel(out.f64, in[0].f64, k.beta)
	}
}

func smoothL1Kernel[F float](y, x []F, beta F) {
	y = y[:len(x)]
	for i, v := range x {
		a := v
		if a < 0 {
			a = -a
		}
		if a < beta {
			y[i] = 0.5 * v * v / beta
		} else {
			y[i] = a - 0.5*beta
		}
	}
}

func (k *smoothL1Op) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&smoothL1GradOp{beta: k.beta}, gout.shape, gout, in[0])}
}

// smoothL1GradOp is gout * clamp(x / beta, -1, 1): inputs gout and x.
type smoothL1GradOp struct{ beta float64 }

func (k *smoothL1GradOp) name() string { return fmt.Sprintf("smooth_l1_grad(%g)", k.beta) }

func (k *smoothL1GradOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		smoothL1GradKernel(out.f32, in[0].f32, in[1].f32, float32(k.beta))
	} else {
		smoothL1GradKernel(out.f64, in[0].f64, in[1].f64, k.beta)
	}
}

func smoothL1GradKernel[F float](y, gout, x []F, beta F) {
	y = y[:len(x)]
	gout = gout[:len(x)]
	for i, v := range x {
		d := v / beta
		d = min(max(d, -1), 1)
		y[i] = gout[i] * d
	}
}

func (k *smoothL1GradOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	panic("nn: the smooth-L1 gradient has no gradient (second derivatives are not supported)")
}

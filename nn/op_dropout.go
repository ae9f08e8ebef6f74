package nn

import "fmt"

// Dropout zeroes each element of x with probability p and scales the others
// by 1/(1-p), with a fresh mask at every run drawn from the graph's seeded
// generator. It is the identity when the graph is not in Training mode or
// p is 0; p outside [0, 1) is an error.
func (g *Graph) Dropout(x *Node, p float64) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	if !(p >= 0 && p < 1) {
		return g.failf("dropout: probability %g outside [0, 1)", p)
	}
	if !g.Training || p == 0 {
		return x
	}
	return g.apply(&dropoutOp{g: g, p: p}, x.shape, x)
}

// dropoutOp is y = x * mask; the mask is drawn in forward and kept for the
// backward op of the same run.
type dropoutOp struct {
	g    *Graph
	p    float64
	mask []float32 // 0 or 1/(1-p)
}

func (k *dropoutOp) name() string { return fmt.Sprintf("dropout(%g)", k.p) }

func (k *dropoutOp) forward(out buf, in []buf) {
	n := max(len(in[0].f32), len(in[0].f64))
	if len(k.mask) != n {
		k.mask = make([]float32, n)
	}
	rng := k.g.random()
	keep := float32(1 / (1 - k.p))
	// 16-bit uniforms, four per draw: the drop probability is p rounded
	// to a multiple of 2^-16.
	thr := uint64(k.p*65536 + 0.5)
	k.g.window.dropoutMask(k.mask, func(mask []float32) {
		n := len(mask)
		for i := 0; i < n; i += 4 {
			r := rng.Uint64()
			for j := i; j < min(i+4, n); j++ {
				if r&0xffff < thr {
					mask[j] = 0
				} else {
					mask[j] = keep
				}
				r >>= 16
			}
		}
	})
	if out.f32 != nil {
		maskKernel(out.f32, in[0].f32, k.mask)
	} else {
		maskKernel(out.f64, in[0].f64, k.mask)
	}
}

func maskKernel[F float](y, x []F, mask []float32) {
	y = y[:len(x)]
	mask = mask[:len(x)]
	for i, v := range x {
		y[i] = v * F(mask[i])
	}
}

func (k *dropoutOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&maskOp{fwd: k}, gout.shape, gout)}
}

// maskOp multiplies by the mask of a dropout op's current run.
type maskOp struct{ fwd *dropoutOp }

func (k *maskOp) name() string { return "dropout_mask" }

func (k *maskOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		maskKernel(out.f32, in[0].f32, k.fwd.mask)
	} else {
		maskKernel(out.f64, in[0].f64, k.fwd.mask)
	}
}

func (k *maskOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&maskOp{fwd: k.fwd}, gout.shape, gout)}
}

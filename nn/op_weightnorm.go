package nn

import (
	"fmt"
	"math"
)

// WeightNorm returns the weight-normalised convolution weights
// w[o, i, k] = gain[k] * v[o, i, k] / ||v[:, :, k]||: PyTorch's
// weight_norm(conv, dim=2), as wav2vec 2.0's positional convolution uses
// it. v is [O, I, K] and gain [1, 1, K] (weight_g's shape).
func (g *Graph) WeightNorm(v, gain *Node) *Node {
	if !g.ok(v, gain) {
		return &Node{g: g}
	}
	if len(v.shape) != 3 || !sameShape(gain.shape, []int{1, 1, v.shape[2]}) {
		return g.failf("weight norm: v %v and gain %v: want [O, I, K] and [1, 1, K]", v.shape, gain.shape)
	}
	return g.apply(&weightNormOp{}, v.shape, v, gain)
}

// weightNormOp is w = gain * v / ||v|| over dims 0 and 1: inputs v, gain.
type weightNormOp struct{}

func (*weightNormOp) name() string { return "weight_norm" }

func (*weightNormOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		weightNormForward(out.f32, in[0].f32, in[1].f32, in[0].shape)
	} else {
		weightNormForward(out.f64, in[0].f64, in[1].f64, in[0].shape)
	}
}

func (*weightNormOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	for i := range 2 {
		if need[i] {
			grads[i] = g.apply(&weightNormGradOp{wrt: i}, in[i].shape, in[0], in[1], gout)
		}
	}
	return grads
}

// norms returns ||v[:, :, k]|| for each k of v [O, I, K].
func norms[F float](v []F, K int) []float64 {
	n := make([]float64, K)
	for i, x := range v {
		n[i%K] += float64(x) * float64(x)
	}
	for k := range n {
		n[k] = math.Sqrt(n[k])
	}
	return n
}

func weightNormForward[F float](w, v, gain []F, shape []int) {
	K := shape[2]
	n := norms(v, K)
	for i, x := range v {
		k := i % K
		w[i] = F(float64(gain[k]) * float64(x) / n[k])
	}
}

// weightNormGradOp is the gradient of w with respect to v (wrt 0) or gain
// (1): inputs v, gain, gout.
type weightNormGradOp struct{ wrt int }

func (k *weightNormGradOp) name() string { return fmt.Sprintf("weight_norm_grad_%c", "vg"[k.wrt]) }

func (k *weightNormGradOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		weightNormBackward(k.wrt, out.f32, in[0].f32, in[1].f32, in[2].f32, in[0].shape)
	} else {
		weightNormBackward(k.wrt, out.f64, in[0].f64, in[1].f64, in[2].f64, in[0].shape)
	}
}

func (*weightNormGradOp) backward(*Graph, []*Node, *Node, *Node, []bool) []*Node {
	panic("nn: the weight norm's gradient has no gradient of its own")
}

// weightNormBackward: with d_k = sum_{o,i} gout v / n_k,
// dgain[k] = d_k and dv = gain[k] / n_k * (gout - d_k v / n_k).
func weightNormBackward[F float](wrt int, out, v, gain, gout []F, shape []int) {
	K := shape[2]
	n := norms(v, K)
	d := make([]float64, K)
	for i, x := range v {
		d[i%K] += float64(gout[i]) * float64(x)
	}
	for k := range d {
		d[k] /= n[k]
	}
	if wrt == 1 {
		for k := range K {
			out[k] = F(d[k])
		}
		return
	}
	for i, x := range v {
		k := i % K
		out[i] = F(float64(gain[k]) / n[k] * (float64(gout[i]) - d[k]*float64(x)/n[k]))
	}
}

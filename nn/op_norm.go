package nn

import (
	"fmt"
	"math"
)

// GroupNorm normalises x [B, C, T...] per sample over groups of C/groups
// consecutive channels and all frames (statistics over (C/groups) x T, the
// biased variance, as PyTorch's GroupNorm), then scales and shifts each
// channel: y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]. gamma and
// beta are [C]. groups = 1 normalises each sample as a whole (wav2vec's
// encoder), groups = C each channel over time (wav2vec 2.0's first layer).
func (g *Graph) GroupNorm(x, gamma, beta *Node, groups int, eps float64) *Node {
	if !g.ok(x, gamma, beta) {
		return &Node{g: g}
	}
	if err := checkNormShapes("group norm", x, gamma, beta); err != nil {
		return g.fail(err)
	}
	if groups <= 0 || x.shape[1]%groups != 0 {
		return g.failf("group norm: %d channels do not split into %d groups", x.shape[1], groups)
	}
	return g.apply(&normOp{groups: groups, eps: eps}, x.shape, x, gamma, beta)
}

// LayerNorm normalises x [B, C, T...] over the channels of each frame
// (PyTorch's LayerNorm(C) on the channels-last view), then scales and
// shifts each channel by gamma and beta [C].
func (g *Graph) LayerNorm(x, gamma, beta *Node, eps float64) *Node {
	if !g.ok(x, gamma, beta) {
		return &Node{g: g}
	}
	if err := checkNormShapes("layer norm", x, gamma, beta); err != nil {
		return g.fail(err)
	}
	return g.apply(&normOp{perFrame: true, eps: eps}, x.shape, x, gamma, beta)
}

func checkNormShapes(what string, x, gamma, beta *Node) error {
	if len(x.shape) < 2 || len(gamma.shape) != 1 || gamma.shape[0] != x.shape[1] || !sameShape(gamma.shape, beta.shape) {
		return fmt.Errorf("nn: %s: input %v, gamma %v, beta %v: want [B, C, ...], [C], [C]", what, x.shape, gamma.shape, beta.shape)
	}
	return nil
}

// normOp is the fused normalisation: inputs x, gamma, beta. Group mode:
// one statistic per (sample, group); per-frame mode: one per (sample,
// frame). The forward run keeps the means and reciprocal deviations for the
// backward ops of the same run.
type normOp struct {
	groups   int
	perFrame bool
	eps      float64
	mean     []float64
	rstd     []float64
	mean32   []float32 // float32 graphs (op_norm32.go)
	rstd32   []float32
}

func (k *normOp) name() string {
	if k.perFrame {
		return fmt.Sprintf("layer_norm(eps=%g)", k.eps)
	}
	return fmt.Sprintf("group_norm(groups=%d,eps=%g)", k.groups, k.eps)
}

// stats returns the number of statistics for a [B, C, T] input.
func (k *normOp) stats(B, T int) int {
	if k.perFrame {
		return B * T
	}
	return B * k.groups
}

func (k *normOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		normForward32(k, out.f32, in[0].f32, in[1].f32, in[2].f32, B, C, T)
		return
	}
	if n := k.stats(B, T); len(k.mean) != n {
		k.mean, k.rstd = make([]float64, n), make([]float64, n)
	}
	{
		normForward(k, out.f64, in[0].f64, in[1].f64, in[2].f64, B, C, T)
	}
}

func normForward[F float](k *normOp, y, x, gamma, beta []F, B, C, T int) {
	if k.perFrame {
		mean, rstd := k.mean, k.rstd
		for b := 0; b < B; b++ {
			m, r := mean[b*T:(b+1)*T], rstd[b*T:(b+1)*T]
			clear(m)
			clear(r)
			for c := 0; c < C; c++ {
				for t, v := range x[(b*C+c)*T : (b*C+c+1)*T] {
					m[t] += float64(v)
				}
			}
			for t := range m {
				m[t] /= float64(C)
			}
			for c := 0; c < C; c++ {
				for t, v := range x[(b*C+c)*T : (b*C+c+1)*T] {
					d := float64(v) - m[t]
					r[t] += d * d
				}
			}
			for t := range r {
				r[t] = 1 / math.Sqrt(r[t]/float64(C)+k.eps)
			}
			for c := 0; c < C; c++ {
				o := (b*C + c) * T
				gc, bc := float64(gamma[c]), float64(beta[c])
				xs, ys := x[o:o+T], y[o:o+T]
				for t, v := range xs {
					ys[t] = F((float64(v)-m[t])*r[t]*gc + bc)
				}
			}
		}
		return
	}
	cg := C / k.groups
	n := cg * T
	for s := 0; s < B*k.groups; s++ {
		xs, ys := x[s*n:(s+1)*n], y[s*n:(s+1)*n]
		m := sumKernel(xs) / float64(n)
		var v float64
		for _, e := range xs {
			d := float64(e) - m
			v += d * d
		}
		r := 1 / math.Sqrt(v/float64(n)+k.eps)
		k.mean[s], k.rstd[s] = m, r
		c0 := (s % k.groups) * cg
		for j := 0; j < cg; j++ {
			gc, bc := float64(gamma[c0+j]), float64(beta[c0+j])
			a, off := r*gc, bc-m*r*gc
			xc, yc := xs[j*T:(j+1)*T], ys[j*T:(j+1)*T]
			for t, e := range xc {
				yc[t] = F(float64(e)*a + off)
			}
		}
	}
}

func (k *normOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 3)
	if need[0] {
		grads[0] = g.apply(&normGradOp{fwd: k}, in[0].shape, in[0], in[1], gout)
	}
	if need[1] {
		grads[1] = g.apply(&normGammaOp{fwd: k}, in[1].shape, in[0], gout)
	}
	if need[2] {
		grads[2] = g.apply(&sumChannelsOp{}, in[2].shape, gout)
	}
	return grads
}

// statIndex returns, for sample b, channel c and frame t, the statistic
// index (the caller loops over t with a stride of 0 or 1).
func (k *normOp) statBase(b, c, T int, C int) (base, step int) {
	if k.perFrame {
		return b * T, 1
	}
	return b*k.groups + c/(C/k.groups), 0
}

// normGradOp is dx: inputs x, gamma, dy. With xh the normalised input and
// dxh = dy*gamma, dx = rstd * (dxh - mean(dxh) - xh*mean(dxh*xh)), the
// means over each statistic's set.
type normGradOp struct {
	fwd     *normOp
	scratch []float32 // float32 per-frame sums
}

func (k *normGradOp) name() string { return k.fwd.name() + "_grad_x" }

func (k *normGradOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		normGrad32(k.fwd, &k.scratch, out.f32, in[0].f32, in[1].f32, in[2].f32, B, C, T)
	} else {
		normGrad(k.fwd, out.f64, in[0].f64, in[1].f64, in[2].f64, B, C, T)
	}
}

func normGrad[F float](k *normOp, dx, x, gamma, dy []F, B, C, T int) {
	ns := k.stats(B, T)
	m1 := make([]float64, ns) // sum of dxh
	m2 := make([]float64, ns) // sum of dxh*xh
	for b := 0; b < B; b++ {
		for c := 0; c < C; c++ {
			o := (b*C + c) * T
			base, step := k.statBase(b, c, T, C)
			gc := float64(gamma[c])
			for t := 0; t < T; t++ {
				s := base + t*step
				xh := (float64(x[o+t]) - k.mean[s]) * k.rstd[s]
				d := float64(dy[o+t]) * gc
				m1[s] += d
				m2[s] += d * xh
			}
		}
	}
	n := float64(C * T / (ns / B))
	for s := range m1 {
		m1[s] /= n
		m2[s] /= n
	}
	for b := 0; b < B; b++ {
		for c := 0; c < C; c++ {
			o := (b*C + c) * T
			base, step := k.statBase(b, c, T, C)
			gc := float64(gamma[c])
			for t := 0; t < T; t++ {
				s := base + t*step
				xh := (float64(x[o+t]) - k.mean[s]) * k.rstd[s]
				d := float64(dy[o+t]) * gc
				dx[o+t] = F(k.rstd[s] * (d - m1[s] - xh*m2[s]))
			}
		}
	}
}

func (k *normGradOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("%s: second derivatives are not supported", k.fwd.name())
	return make([]*Node, 3)
}

// normGammaOp is dgamma[c] = sum over samples and frames of dy * xh:
// inputs x, dy.
type normGammaOp struct{ fwd *normOp }

func (k *normGammaOp) name() string { return k.fwd.name() + "_grad_gamma" }

func (k *normGammaOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		normGamma32(k.fwd, out.f32, in[0].f32, in[1].f32, B, C, T)
	} else {
		normGamma(k.fwd, out.f64, in[0].f64, in[1].f64, B, C, T)
	}
}

func normGamma[F float](k *normOp, dg, x, dy []F, B, C, T int) {
	for c := 0; c < C; c++ {
		var acc float64
		for b := 0; b < B; b++ {
			o := (b*C + c) * T
			base, step := k.statBase(b, c, T, C)
			for t := 0; t < T; t++ {
				s := base + t*step
				acc += float64(dy[o+t]) * (float64(x[o+t]) - k.mean[s]) * k.rstd[s]
			}
		}
		dg[c] = F(acc)
	}
}

func (k *normGammaOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("%s: second derivatives are not supported", k.fwd.name())
	return make([]*Node, 2)
}

package nn

import (
	"fmt"
	"math"
)

// Product quantization with Gumbel-softmax (wav2vec 2.0's quantizer):
// logits [B, G*V, T] choose one of V codes in each of G groups at every
// frame, and the chosen codebook rows, concatenated over the groups, are
// the quantized frame.

// Gumbel is the handle of a GumbelQuantize node: its temperature, and the
// code usage of the last run.
type Gumbel struct{ k *gumbelOp }

// SetTemperature sets the softmax temperature used by the following runs
// (training graphs only). A temperature that is not positive and finite is
// a programming error and panics.
func (h *Gumbel) SetTemperature(tau float64) {
	if !(tau > 0) || math.IsInf(tau, 0) {
		panic(fmt.Sprintf("nn: gumbel: temperature %g: want positive and finite", tau))
	}
	h.k.tau = tau
}

// Temperature returns the current temperature.
func (h *Gumbel) Temperature() float64 { return h.k.tau }

// CodePerplexity returns, for the last run, the sum over groups of
// exp(entropy) of the batch-mean hard code usage (the argmax of the logits
// without noise, over every frame): G*V when all codes are used equally, G
// when each group uses one code. As fairseq's code_perplexity, but with the
// exact entropy (fairseq adds 1e-7 inside the logarithm).
func (h *Gumbel) CodePerplexity() float64 { return perplexity(h.k.counts, h.k.G, h.k.V, 0) }

// Codes returns the codes chosen by the last run, [B, G, T] row-major (with
// the noise in training). The slice belongs to the node.
func (h *Gumbel) Codes() []int32 { return h.k.idx }

// GumbelQuantize selects codebook rows: logits [B, G*V, T] with
// groups = G, codebook [G*V, D] (the V codes of group g are rows g*V to
// g*V+V-1), output [B, G*D, T] whose channels g*D to g*D+D-1 are the row
// chosen in group g.
//
// With noise (Gumbel(0, 1) samples of the logits' shape, set before each
// run) it is the hard Gumbel-softmax of training: the code chosen is the
// argmax of logits + noise, and the gradients are straight-through, as
// fairseq's hard - soft.detach() + soft: the logits (and the noise) get the
// gradient of the soft selection softmax((logits + noise)/tau), the
// codebook gets the gradient of the hard selection (each chosen row
// accumulates the output gradient of its frames). With noise nil it is the
// inference path: the argmax of the logits, and a zero gradient for them.
// The temperature starts at 1; set it with the handle.
func (g *Graph) GumbelQuantize(logits, noise, codebook *Node, groups int) (*Node, *Gumbel) {
	h := &Gumbel{k: &gumbelOp{tau: 1}}
	in := []*Node{logits, codebook}
	if noise != nil {
		in = []*Node{logits, noise, codebook}
	}
	if !g.ok(in...) {
		return &Node{g: g}, h
	}
	ls, cs := logits.shape, codebook.shape
	if len(ls) != 3 || groups <= 0 || ls[1]%groups != 0 || len(cs) != 2 || cs[0] != ls[1] {
		return g.failf("gumbel quantize: logits %v, codebook %v, %d groups: want [B, G*V, T] and [G*V, D]", ls, cs, groups), h
	}
	if noise != nil && !sameShape(noise.shape, ls) {
		return g.failf("gumbel quantize: noise %v for logits %v", noise.shape, ls), h
	}
	k := h.k
	k.G, k.V, k.D, k.train = groups, ls[1]/groups, cs[1], noise != nil
	return g.apply(k, []int{ls[0], groups * cs[1], ls[2]}, in...), h
}

// gumbelOp is the quantizer's selection: inputs logits, noise (training
// only) and codebook. The forward run keeps the choices and the soft
// probabilities for the backward ops of the same run. soft (tests only)
// outputs the soft mixture of the codes instead of the hard choice, the
// function whose gradient the straight-through estimator uses.
type gumbelOp struct {
	G, V, D int
	train   bool
	soft    bool
	tau     float64
	idx     []int32   // [B, G, T] chosen code
	probs   []float64 // [B, G*V, T] softmax((logits+noise)/tau), training only
	counts  []float64 // [G*V] usage of the noise-free argmax
}

func (k *gumbelOp) name() string {
	return fmt.Sprintf("gumbel_quantize(G=%d,V=%d,D=%d,train=%t,soft=%t)", k.G, k.V, k.D, k.train, k.soft)
}

func (k *gumbelOp) forward(out buf, in []buf) {
	B, T := in[0].shape[0], in[0].shape[2]
	if n := B * k.G * T; len(k.idx) != n {
		k.idx = make([]int32, n)
		k.counts = make([]float64, k.G*k.V)
	}
	if k.train && len(k.probs) != B*k.G*k.V*T {
		k.probs = make([]float64, B*k.G*k.V*T)
	}
	cb := len(in) - 1
	if out.f32 != nil {
		var noise []float32
		if k.train {
			noise = in[1].f32
		}
		gumbelForward(k, out.f32, in[0].f32, noise, in[cb].f32, B, T)
	} else {
		var noise []float64
		if k.train {
			noise = in[1].f64
		}
		gumbelForward(k, out.f64, in[0].f64, noise, in[cb].f64, B, T)
	}
}

func gumbelForward[F float](k *gumbelOp, y, logits, noise, cb []F, B, T int) {
	G, V, D := k.G, k.V, k.D
	clear(k.counts)
	for b := 0; b < B; b++ {
		for g := 0; g < G; g++ {
			l0 := (b*G + g) * V * T // logits[b, g*V, 0]
			y0 := (b*G + g) * D * T // y[b, g*D, 0]
			for t := 0; t < T; t++ {
				at := func(v int) int { return l0 + v*T + t }
				best := 0
				for v := 1; v < V; v++ {
					if logits[at(v)] > logits[at(best)] {
						best = v
					}
				}
				k.counts[g*V+best]++
				if k.train {
					best = softmaxAt(k.probs, logits, noise, at, V, k.tau)
				}
				k.idx[(b*G+g)*T+t] = int32(best)
				row := cb[(g*V+best)*D : (g*V+best+1)*D]
				for d, e := range row {
					y[y0+d*T+t] = e
				}
				if k.soft {
					for d := 0; d < D; d++ {
						var s float64
						for v := 0; v < V; v++ {
							s += k.probs[at(v)] * float64(cb[(g*V+v)*D+d])
						}
						y[y0+d*T+t] = F(s)
					}
				}
			}
		}
	}
	if n := float64(B * T); n > 0 {
		for i := range k.counts {
			k.counts[i] /= n
		}
	}
}

// softmaxAt writes p[at(v)] = softmax((logits + noise)/tau) over v (no
// noise when it is nil) and returns its argmax.
func softmaxAt[F float](p []float64, logits, noise []F, at func(int) int, V int, tau float64) int {
	best, mx := 0, math.Inf(-1)
	for v := 0; v < V; v++ {
		s := float64(logits[at(v)])
		if noise != nil {
			s += float64(noise[at(v)])
		}
		s /= tau
		p[at(v)] = s
		if s > mx {
			best, mx = v, s
		}
	}
	var z float64
	for v := 0; v < V; v++ {
		e := math.Exp(p[at(v)] - mx)
		p[at(v)] = e
		z += e
	}
	for v := 0; v < V; v++ {
		p[at(v)] /= z
	}
	return best
}

func (k *gumbelOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, len(in))
	cb := in[len(in)-1]
	if need[0] || (k.train && need[1]) {
		dl := g.apply(&gumbelGradLogitsOp{fwd: k}, in[0].shape, gout, cb)
		grads[0] = dl
		if k.train {
			grads[1] = dl // logits and noise enter as their sum
		}
	}
	if need[len(in)-1] {
		grads[len(in)-1] = g.apply(&gumbelGradCodebookOp{fwd: k}, cb.shape, gout)
	}
	return grads
}

// gumbelGradLogitsOp is the straight-through logits gradient: inputs the
// output gradient dq and the codebook. With dy[v] = <dq frame of group g,
// code v> and p the soft probabilities, dlogits[v] = p[v]*(dy[v] - <p, dy>)/tau.
type gumbelGradLogitsOp struct{ fwd *gumbelOp }

func (k *gumbelGradLogitsOp) name() string { return k.fwd.name() + "_grad_logits" }

func (k *gumbelGradLogitsOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		gumbelGradLogits(k.fwd, out.f32, in[0].f32, in[1].f32, out.shape[0], out.shape[2])
	} else {
		gumbelGradLogits(k.fwd, out.f64, in[0].f64, in[1].f64, out.shape[0], out.shape[2])
	}
}

func gumbelGradLogits[F float](k *gumbelOp, dl, dq, cb []F, B, T int) {
	clear(dl)
	if !k.train {
		return
	}
	G, V, D := k.G, k.V, k.D
	dy := make([]float64, V)
	for b := 0; b < B; b++ {
		for g := 0; g < G; g++ {
			l0, q0 := (b*G+g)*V*T, (b*G+g)*D*T
			for t := 0; t < T; t++ {
				var pdy float64
				for v := 0; v < V; v++ {
					row := cb[(g*V+v)*D : (g*V+v+1)*D]
					var s float64
					for d, e := range row {
						s += float64(dq[q0+d*T+t]) * float64(e)
					}
					dy[v] = s
					pdy += k.probs[l0+v*T+t] * s
				}
				for v := 0; v < V; v++ {
					p := k.probs[l0+v*T+t]
					dl[l0+v*T+t] = F(p * (dy[v] - pdy) / k.tau)
				}
			}
		}
	}
}

func (k *gumbelGradLogitsOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("%s: second derivatives are not supported", k.name())
	return make([]*Node, len(in))
}

// gumbelGradCodebookOp is the codebook gradient: input dq; each chosen row
// accumulates dq over the frames that chose it (the soft probabilities
// weigh every row in soft mode).
type gumbelGradCodebookOp struct{ fwd *gumbelOp }

func (k *gumbelGradCodebookOp) name() string { return k.fwd.name() + "_grad_codebook" }

func (k *gumbelGradCodebookOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		gumbelGradCodebook(k.fwd, out.f32, in[0].f32, in[0].shape[0], in[0].shape[2])
	} else {
		gumbelGradCodebook(k.fwd, out.f64, in[0].f64, in[0].shape[0], in[0].shape[2])
	}
}

func gumbelGradCodebook[F float](k *gumbelOp, dcb, dq []F, B, T int) {
	clear(dcb)
	G, V, D := k.G, k.V, k.D
	for b := 0; b < B; b++ {
		for g := 0; g < G; g++ {
			l0, q0 := (b*G+g)*V*T, (b*G+g)*D*T
			for t := 0; t < T; t++ {
				if k.soft {
					for v := 0; v < V; v++ {
						p := F(k.probs[l0+v*T+t])
						for d := 0; d < D; d++ {
							dcb[(g*V+v)*D+d] += p * dq[q0+d*T+t]
						}
					}
					continue
				}
				row := dcb[(g*V+int(k.idx[(b*G+g)*T+t]))*D:][:D]
				for d := range row {
					row[d] += dq[q0+d*T+t]
				}
			}
		}
	}
}

func (k *gumbelGradCodebookOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("%s: second derivatives are not supported", k.name())
	return make([]*Node, len(in))
}

// perplexityEps is added inside the logarithm of the entropies, as fairseq.
const perplexityEps = 1e-7

// perplexity returns the sum over G groups of exp(entropy) of the
// distributions p[g*V : g*V+V], with eps added inside the logarithm.
func perplexity(p []float64, G, V int, eps float64) float64 {
	var s float64
	for g := 0; g < G; g++ {
		s += math.Exp(entropy(p[g*V:(g+1)*V], eps))
	}
	return s
}

// Perplexity returns exp(entropy) of the distribution p: the number of
// equally likely outcomes with the same entropy.
func Perplexity(p []float64) float64 { return math.Exp(entropy(p, 0)) }

func entropy(p []float64, eps float64) float64 {
	var h float64
	for _, e := range p {
		if e != 0 {
			h -= e * math.Log(e+eps)
		}
	}
	return h
}

// Diversity is the handle of a CodebookDiversity node: the perplexities of
// the last run.
type Diversity struct{ k *diversityOp }

// ProbPerplexity returns the sum over groups of exp(entropy) of the
// weighted batch-mean softmax of the last run (fairseq's prob_perplexity,
// 1e-7 added inside the logarithm as there): the quantity the loss pushes
// up.
func (h *Diversity) ProbPerplexity() float64 { return h.k.perp }

// CodePerplexity returns the same for the hard code usage (the argmax of
// the logits without noise) over the weighted frames (fairseq's
// code_perplexity), with the exact entropy.
func (h *Diversity) CodePerplexity() float64 { return perplexity(h.k.counts, h.k.G, h.k.V, 0) }

// CodebookDiversity returns wav2vec 2.0's diversity loss, a scalar:
// (G*V - sum over groups of exp(entropy(avg_g))) / (G*V), where avg_g is
// the mean over frames of softmax(logits) of group g (no noise, no
// temperature), each frame weighted by weights [B, 1, T] (nil: all 1; 0
// leaves a frame out). logits are [B, G*V, T] with groups = G. The loss is
// 0 when every code is used equally and (G*V - G)/(G*V) when each group
// always picks the same code, or when all weights are 0.
func (g *Graph) CodebookDiversity(logits, weights *Node, groups int) (*Node, *Diversity) {
	h := &Diversity{k: &diversityOp{}}
	in := []*Node{logits}
	if weights != nil {
		in = append(in, weights)
	}
	if !g.ok(in...) {
		return &Node{g: g}, h
	}
	ls := logits.shape
	if len(ls) != 3 || groups <= 0 || ls[1]%groups != 0 {
		return g.failf("diversity: logits %v with %d groups: want [B, G*V, T]", ls, groups), h
	}
	if weights != nil && !sameShape(weights.shape, []int{ls[0], 1, ls[2]}) {
		return g.failf("diversity: weights %v for logits %v: want [B, 1, T]", weights.shape, ls), h
	}
	h.k.G, h.k.V = groups, ls[1]/groups
	return g.apply(h.k, nil, in...), h
}

// diversityOp is the diversity loss: inputs logits and optionally weights.
type diversityOp struct {
	G, V   int
	B, T   int       // of the last run
	probs  []float64 // [B, G*V, T] softmax per group
	avg    []float64 // [G*V] weighted mean of probs
	counts []float64 // [G*V] weighted mean of the hard usage
	wsum   float64
	perp   float64
	reduce func([]float64) // SetReduce
	sums   []float64
}

func (k *diversityOp) name() string { return fmt.Sprintf("diversity(G=%d,V=%d)", k.G, k.V) }

func (k *diversityOp) forward(out buf, in []buf) {
	B, T := in[0].shape[0], in[0].shape[2]
	k.B, k.T = B, T
	if n := B * k.G * k.V * T; len(k.probs) != n {
		k.probs = make([]float64, n)
		k.avg = make([]float64, k.G*k.V)
		k.counts = make([]float64, k.G*k.V)
	}
	var loss float64
	if out.f32 != nil {
		var w []float32
		if len(in) > 1 {
			w = in[1].f32
		}
		loss = diversityForward(k, in[0].f32, w, B, T)
		out.f32[0] = float32(loss)
	} else {
		var w []float64
		if len(in) > 1 {
			w = in[1].f64
		}
		loss = diversityForward(k, in[0].f64, w, B, T)
		out.f64[0] = loss
	}
}

func diversityForward[F float](k *diversityOp, logits, w []F, B, T int) float64 {
	G, V := k.G, k.V
	clear(k.avg)
	clear(k.counts)
	k.wsum = 0
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			wt := 1.0
			if w != nil {
				wt = float64(w[b*T+t])
			}
			k.wsum += wt
			for g := 0; g < G; g++ {
				l0 := (b*G + g) * V * T
				at := func(v int) int { return l0 + v*T + t }
				best := softmaxAt(k.probs, logits, nil, at, V, 1)
				k.counts[g*V+best] += wt
				for v := 0; v < V; v++ {
					k.avg[g*V+v] += wt * k.probs[at(v)]
				}
			}
		}
	}
	if k.reduce != nil {
		k.reduceSums()
	}
	if k.wsum != 0 {
		for i := range k.avg {
			k.avg[i] /= k.wsum
			k.counts[i] /= k.wsum
		}
	}
	k.perp = perplexity(k.avg, G, V, perplexityEps)
	return (float64(G*V) - k.perp) / float64(G*V)
}

func (k *diversityOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, len(in))
	args := []*Node{gout}
	if len(in) > 1 {
		args = append(args, in[1])
	}
	for i := range in {
		if need[i] {
			grads[i] = g.apply(&diversityGradOp{fwd: k, weights: i == 1}, in[i].shape, args...)
		}
	}
	return grads
}

// diversityGradOp is the gradient of the diversity loss with respect to
// the logits (or, with weights set, the weights): inputs the scalar output
// gradient and the weights if any.
type diversityGradOp struct {
	fwd     *diversityOp
	weights bool
}

func (k *diversityGradOp) name() string {
	return fmt.Sprintf("%s_grad(weights=%t)", k.fwd.name(), k.weights)
}

func (k *diversityGradOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		var w []float32
		if len(in) > 1 {
			w = in[1].f32
		}
		diversityGrad(k, out.f32, float64(in[0].f32[0]), w)
	} else {
		var w []float64
		if len(in) > 1 {
			w = in[1].f64
		}
		diversityGrad(k, out.f64, in[0].f64[0], w)
	}
}

func diversityGrad[F float](k *diversityGradOp, dst []F, gout float64, w []F) {
	f := k.fwd
	G, V := f.G, f.V
	clear(dst)
	if f.wsum == 0 {
		return
	}
	// davg: dLoss/davg[g*V+v] = exp(H_g) * (log(avg+eps) + avg/(avg+eps)) / (G*V).
	davg := make([]float64, G*V)
	for g := 0; g < G; g++ {
		a := f.avg[g*V : (g+1)*V]
		eh := math.Exp(entropy(a, perplexityEps))
		for v, e := range a {
			davg[g*V+v] = gout * eh * (math.Log(e+perplexityEps) + e/(e+perplexityEps)) / float64(G*V)
		}
	}
	B, T := f.B, f.T
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			wt := 1.0
			if w != nil {
				wt = float64(w[b*T+t])
			}
			var dw float64
			for g := 0; g < G; g++ {
				l0 := (b*G + g) * V * T
				var pd float64
				for v := 0; v < V; v++ {
					p := f.probs[l0+v*T+t]
					pd += p * davg[g*V+v]
					dw += davg[g*V+v] * (p - f.avg[g*V+v])
				}
				if !k.weights {
					for v := 0; v < V; v++ {
						p := f.probs[l0+v*T+t]
						dst[l0+v*T+t] = F(wt / f.wsum * p * (davg[g*V+v] - pd))
					}
				}
			}
			if k.weights {
				dst[b*T+t] = F(dw / f.wsum)
			}
		}
	}
}

func (k *diversityGradOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("%s: second derivatives are not supported", k.name())
	return make([]*Node, len(in))
}

// reduceSums passes the unnormalised sums to the SetReduce function and
// takes back what it leaves.
func (k *diversityOp) reduceSums() {
	n := len(k.avg)
	k.sums = append(append(append(k.sums[:0], k.avg...), k.counts...), k.wsum)
	k.reduce(k.sums)
	copy(k.avg, k.sums[:n])
	copy(k.counts, k.sums[n:2*n])
	k.wsum = k.sums[2*n]
}

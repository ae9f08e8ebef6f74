package nn

import (
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

// Contrastive is the handle of a ContrastiveLoss node: set the distractor
// indices before each run, read the accuracy after it.
type Contrastive struct{ k *contrastOp }

// SetDistractors sets, for the next runs, the K distractor frames of every
// frame: idx is [B, T, K] row-major, each value a frame of the same
// utterance in [0, T). A wrong length or a value out of range is an error
// and keeps the previous indices.
func (h *Contrastive) SetDistractors(idx []int32) error {
	k := h.k
	if k.B == 0 {
		return fmt.Errorf("nn: contrastive: the node was not built (see the graph's error)")
	}
	if len(idx) != k.B*k.T*k.K {
		return fmt.Errorf("nn: contrastive: %d distractor indices, want B*T*K = %d*%d*%d", len(idx), k.B, k.T, k.K)
	}
	for i, v := range idx {
		if v < 0 || int(v) >= k.T {
			return fmt.Errorf("nn: contrastive: distractor index %d at position %d outside [0, %d)", v, i, k.T)
		}
	}
	k.idx = append(k.idx[:0], idx...)
	return nil
}

// Accuracy returns, for the last run, the fraction of weighted frames whose
// true target scored strictly above every distractor (weighted by the
// frame weights), and the sum of the weights. NaN before a run or with all
// weights 0.
func (h *Contrastive) Accuracy() (acc, weight float64) {
	k := h.k
	if k.wsum == 0 {
		return math.NaN(), 0
	}
	return k.correct / k.wsum, k.wsum
}

// ContrastiveLoss returns wav2vec 2.0's contrastive loss, a scalar. c and
// q are [B, D, T]: at frame t the context vector c[b, :, t] must pick its
// target q[b, :, t] out of the K distractors q[b, :, idx[b, t, k]] (set
// with the handle's SetDistractors before each run). The logits are the
// cosine similarities over kappa, [target, distractor 1..K]; a distractor
// whose q equals the target's exactly gets logit -Inf (as fairseq). The
// loss is the cross-entropy of the target, weighted per frame by weights
// [B, 1, T] (1 = masked frame, 0 = not scored) and divided by the sum of
// the weights (0 when it is 0).
//
// The similarities of all frame pairs of an utterance come from one GEMM
// of the L2-normalised c and q, so the cost is B*T*T*D multiply-adds
// forward and twice that backward, whatever K is. A run without
// distractors set gives a NaN loss.
func (g *Graph) ContrastiveLoss(c, q, weights *Node, K int, kappa float64) (*Node, *Contrastive) {
	k := &contrastOp{K: K, kappa: kappa}
	h := &Contrastive{k}
	if !g.ok(c, q, weights) {
		return &Node{g: g}, h
	}
	cs := c.shape
	switch {
	case len(cs) != 3 || !sameShape(cs, q.shape):
		return g.failf("contrastive: c %v and q %v: want the same [B, D, T]", cs, q.shape), h
	case !sameShape(weights.shape, []int{cs[0], 1, cs[2]}):
		return g.failf("contrastive: weights %v for c %v: want [B, 1, T]", weights.shape, cs), h
	case K <= 0:
		return g.failf("contrastive: %d distractors, want at least 1", K), h
	case !(kappa > 0) || math.IsInf(kappa, 0):
		return g.failf("contrastive: temperature %g, want positive and finite", kappa), h
	}
	k.B, k.D, k.T = cs[0], cs[1], cs[2]
	return g.apply(k, nil, c, q, weights), h
}

// contrastEps keeps the norm of an all-zero frame away from zero:
// |x| = sqrt(sum x^2 + eps).
const contrastEps = 1e-12

// contrastOp: (c, q, weights) -> loss. The forward pass keeps the
// normalised vectors, their norms and the softmax of the logits for the
// gradient ops of the same run.
type contrastOp struct {
	B, D, T, K int
	kappa      float64
	idx        []int32 // [B, T, K]

	ch32, qh32 []float32 // normalised c and q, [B, D, T]
	ch64, qh64 []float64
	s32        []float32 // similarities [B, T, T]
	s64        []float64
	nc, nq     []float64 // norms [B, T]
	dl         []float64 // dLoss/dlogit (unscaled by the incoming gradient), [B, T, K+1]
	correct    float64
	wsum       float64
	norm       float64 // SetNorm
}

func (k *contrastOp) name() string {
	return fmt.Sprintf("contrastive(K=%d, kappa=%g)", k.K, k.kappa)
}

func (k *contrastOp) forward(out buf, in []buf) {
	var loss float64
	if out.f32 != nil {
		k.ch32 = contrastGrow(k.ch32, k.B*k.D*k.T)
		k.qh32 = contrastGrow(k.qh32, k.B*k.D*k.T)
		k.s32 = contrastGrow(k.s32, k.B*k.T*k.T)
		loss = contrastForward(k, in[0].f32, in[1].f32, in[2].f32, k.ch32, k.qh32, k.s32)
		out.f32[0] = float32(loss)
	} else {
		k.ch64 = contrastGrow(k.ch64, k.B*k.D*k.T)
		k.qh64 = contrastGrow(k.qh64, k.B*k.D*k.T)
		k.s64 = contrastGrow(k.s64, k.B*k.T*k.T)
		loss = contrastForward(k, in[0].f64, in[1].f64, in[2].f64, k.ch64, k.qh64, k.s64)
		out.f64[0] = loss
	}
}

func contrastGrow[F any](s []F, n int) []F {
	if len(s) != n {
		return make([]F, n)
	}
	return s
}

// contrastGemm dispatches to the float32 or float64 kernel.
func contrastGemm[F float](transA, transB bool, m, n, kk int, a []F, lda int, b []F, ldb int, c []F, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		kernels.Sgemm(transA, transB, m, n, kk, 1, a, lda, any(b).([]float32), ldb, 0, any(c).([]float32), ldc)
	case []float64:
		kernels.Dgemm(transA, transB, m, n, kk, 1, a, lda, any(b).([]float64), ldb, 0, any(c).([]float64), ldc)
	}
}

// normalizeFrames writes x / |x| per frame of [B, D, T] into xh and the
// norms into nrm [B, T].
func normalizeFrames[F float](xh, x []F, nrm []float64, B, D, T int) {
	for b := range B {
		for t := range T {
			var s float64
			for d := range D {
				v := float64(x[(b*D+d)*T+t])
				s += v * v
			}
			n := math.Sqrt(s + contrastEps)
			nrm[b*T+t] = n
			inv := 1 / n
			for d := range D {
				i := (b*D+d)*T + t
				xh[i] = F(float64(x[i]) * inv)
			}
		}
	}
}

func contrastForward[F float](k *contrastOp, c, q, w, ch, qh, s []F) float64 {
	B, D, T, K := k.B, k.D, k.T, k.K
	k.nc = contrastGrow(k.nc, B*T)
	k.nq = contrastGrow(k.nq, B*T)
	k.dl = contrastGrow(k.dl, B*T*(K+1))
	k.correct, k.wsum = 0, 0
	if len(k.idx) != B*T*K {
		clear(k.dl)
		return math.NaN()
	}
	normalizeFrames(ch, c, k.nc, B, D, T)
	normalizeFrames(qh, q, k.nq, B, D, T)
	for b := range B {
		// s_b[t, u] = ch_b[:, t] . qh_b[:, u]
		contrastGemm(true, false, T, T, D, ch[b*D*T:], T, qh[b*D*T:], T, s[b*T*T:], T)
	}
	var wsum float64
	for _, v := range w {
		wsum += float64(v)
	}
	k.wsum = wsum
	if k.norm > 0 {
		wsum = k.norm // SetNorm: the whole batch's weight sum
	}
	logits := make([]float64, K+1)
	var loss float64
	for b := range B {
		for t := range T {
			row := s[(b*T+t)*T:]
			logits[0] = float64(row[t]) / k.kappa
			ids := k.idx[(b*T+t)*K : (b*T+t+1)*K]
			for j, u := range ids {
				if sameFrame(q, b, D, T, t, int(u)) {
					logits[j+1] = math.Inf(-1)
				} else {
					logits[j+1] = float64(row[u]) / k.kappa
				}
			}
			mx := logits[0]
			best := math.Inf(-1)
			for _, l := range logits[1:] {
				best = max(best, l)
			}
			mx = max(mx, best)
			var se float64
			for _, l := range logits {
				se += math.Exp(l - mx)
			}
			lse := mx + math.Log(se)
			wt := float64(w[b*T+t])
			dl := k.dl[(b*T+t)*(K+1) : (b*T+t+1)*(K+1)]
			if wt == 0 || wsum == 0 {
				clear(dl)
				continue
			}
			loss += wt * (lse - logits[0])
			if logits[0] > best {
				k.correct += wt
			}
			for j, l := range logits {
				dl[j] = wt / wsum * math.Exp(l-lse)
			}
			dl[0] -= wt / wsum
		}
	}
	if wsum == 0 {
		return 0
	}
	return loss / wsum
}

// sameFrame reports whether frames t and u of utterance b of q [B, D, T]
// are equal in every channel.
func sameFrame[F float](q []F, b, D, T, t, u int) bool {
	if t == u {
		return true
	}
	for d := range D {
		base := (b*D + d) * T
		if q[base+t] != q[base+u] {
			return false
		}
	}
	return true
}

func (k *contrastOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 3)
	for i := range 2 {
		if need[i] {
			// out is an input only to order the gradient after the forward pass.
			grads[i] = g.apply(&contrastGradOp{fwd: k, wrtQ: i == 1}, in[i].shape, out, gout)
		}
	}
	return grads
}

// contrastGradOp: (loss, dLoss) -> dLoss/dc (or dLoss/dq with wrtQ), from
// the state of the forward pass of the same run.
type contrastGradOp struct {
	fwd  *contrastOp
	wrtQ bool
	m32  []float32 // [B, T, T]: dLoss/dS
	m64  []float64
	h32  []float32 // dLoss/d(normalised vectors)
	h64  []float64
}

func (k *contrastGradOp) name() string { return fmt.Sprintf("contrastive-grad(q=%t)", k.wrtQ) }

func (k *contrastGradOp) forward(out buf, in []buf) {
	f := k.fwd
	n := f.B * f.T * f.T
	if out.f32 != nil {
		k.m32 = contrastGrow(k.m32, n)
		k.h32 = contrastGrow(k.h32, len(out.f32))
		contrastGrad(k, float64(in[1].f32[0]), out.f32, k.m32, k.h32, f.ch32, f.qh32)
	} else {
		k.m64 = contrastGrow(k.m64, n)
		k.h64 = contrastGrow(k.h64, len(out.f64))
		contrastGrad(k, in[1].f64[0], out.f64, k.m64, k.h64, f.ch64, f.qh64)
	}
}

func contrastGrad[F float](k *contrastGradOp, up float64, out, m, h, ch, qh []F) {
	f := k.fwd
	B, D, T, K := f.B, f.D, f.T, f.K
	if len(f.idx) != B*T*K || len(ch) != len(out) {
		clear(out)
		return
	}
	// m[b, t, u] = dLoss/dS[b, t, u]
	clear(m)
	sc := up / f.kappa
	for b := range B {
		for t := range T {
			dl := f.dl[(b*T+t)*(K+1) : (b*T+t+1)*(K+1)]
			row := m[(b*T+t)*T : (b*T+t+1)*T]
			row[t] += F(sc * dl[0])
			for j, u := range f.idx[(b*T+t)*K : (b*T+t+1)*K] {
				row[u] += F(sc * dl[j+1])
			}
		}
	}
	nrm := f.nc
	self := ch
	for b := range B {
		mb := m[b*T*T : (b+1)*T*T]
		if k.wrtQ {
			// dqh_b = ch_b m_b: dqh[:, u] = sum_t m[t, u] ch[:, t]
			contrastGemm(false, false, D, T, T, ch[b*D*T:], T, mb, T, h[b*D*T:], T)
		} else {
			// dch_b = qh_b m_b^T: dch[:, t] = sum_u m[t, u] qh[:, u]
			contrastGemm(false, true, D, T, T, qh[b*D*T:], T, mb, T, h[b*D*T:], T)
		}
	}
	if k.wrtQ {
		nrm, self = f.nq, qh
	}
	// Through the normalisation: dx = (dxh - xh (xh . dxh)) / |x|.
	for b := range B {
		for t := range T {
			var dot float64
			for d := range D {
				i := (b*D+d)*T + t
				dot += float64(self[i]) * float64(h[i])
			}
			inv := 1 / nrm[b*T+t]
			for d := range D {
				i := (b*D+d)*T + t
				out[i] = F((float64(h[i]) - float64(self[i])*dot) * inv)
			}
		}
	}
}

func (k *contrastGradOp) backward(*Graph, []*Node, *Node, *Node, []bool) []*Node { return nil }

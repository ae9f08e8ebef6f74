package nn

import (
	"fmt"
	"math"
	"sync"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

// Attention returns multi-head scaled dot-product attention over frames:
// q, k and v are [B, D, T] (D = heads * dh channels, channels-first), and
// the result [B, D, T] holds, for each head h (channels h*dh to (h+1)*dh)
// and query frame t, sum_s softmax_s(q_t . k_s / sqrt(dh)) v_s. mask, if not
// nil, is [B, 1, T] with 1 for the frames that are keys and 0 for padding,
// which no query attends to (a query with no key at all gets 0). The
// attention matrix of one (sample, head) is T x T: the caller bounds T.
// The backward pass recomputes the attention weights instead of keeping
// them.
func (g *Graph) Attention(q, k, v, mask *Node, heads int) *Node {
	in := []*Node{q, k, v}
	if mask != nil {
		in = append(in, mask)
	}
	if !g.ok(in...) {
		return &Node{g: g}
	}
	if len(q.shape) != 3 || !sameShape(q.shape, k.shape) || !sameShape(q.shape, v.shape) {
		return g.failf("attention: q %v, k %v, v %v: want three equal [B, D, T]", q.shape, k.shape, v.shape)
	}
	B, D, T := q.shape[0], q.shape[1], q.shape[2]
	if heads < 1 || D%heads != 0 {
		return g.failf("attention: %d channels do not split into %d heads", D, heads)
	}
	if mask != nil && !sameShape(mask.shape, []int{B, 1, T}) {
		return g.failf("attention: mask %v for input %v: want [B, 1, T]", mask.shape, q.shape)
	}
	return g.apply(&attentionOp{heads: heads, masked: mask != nil}, q.shape, in...)
}

// attentionOp is the attention of q, k, v (and the mask).
type attentionOp struct {
	heads  int
	masked bool
}

func (a *attentionOp) name() string { return fmt.Sprintf("attention(heads=%d)", a.heads) }

func (a *attentionOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		attentionForward(a, out.f32, in, func(b buf) []float32 { return b.f32 })
	} else {
		attentionForward(a, out.f64, in, func(b buf) []float64 { return b.f64 })
	}
}

func (a *attentionOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, len(in))
	args := append(append([]*Node(nil), in...), gout)
	for i := range 3 {
		if need[i] {
			grads[i] = g.apply(&attentionGradOp{attentionOp: *a, wrt: i}, in[i].shape, args...)
		}
	}
	return grads // the mask gets none
}

// attentionGradOp is the gradient of the attention with respect to q
// (wrt 0), k (1) or v (2): inputs q, k, v, [mask], gout.
type attentionGradOp struct {
	attentionOp
	wrt int
}

func (a *attentionGradOp) name() string {
	return fmt.Sprintf("attention_grad_%c(heads=%d)", "qkv"[a.wrt], a.heads)
}

func (a *attentionGradOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		attentionBackward(a, out.f32, in, func(b buf) []float32 { return b.f32 })
	} else {
		attentionBackward(a, out.f64, in, func(b buf) []float64 { return b.f64 })
	}
}

func (a *attentionGradOp) backward(*Graph, []*Node, *Node, *Node, []bool) []*Node {
	panic("nn: the attention's gradient has no gradient of its own")
}

// attnDims returns B, D, T, dh and the scale 1/sqrt(dh) of the op's input.
func (a *attentionOp) dims(shape []int) (B, D, T, dh int, scale float64) {
	B, D, T = shape[0], shape[1], shape[2]
	dh = D / a.heads
	return B, D, T, dh, 1 / math.Sqrt(float64(dh))
}

// expNonPositive returns e^x for x <= 0 (a softmax's arguments less their
// maximum) within a relative 1e-8, several times faster than math.Exp:
// x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor polynomial of
// degree 7, and 2^n put into the exponent bits. NaN stays NaN.
func expNonPositive(x float64) float64 {
	if x < -708 {
		return 0
	}
	if x != x {
		return x
	}
	const log2e, ln2hi, ln2lo = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10
	n := math.Floor(x*log2e + 0.5)
	r := (x - n*ln2hi) - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float64frombits(uint64(int64(n)+1023)<<52)
}

// softmaxExp32 replaces each value v of row by e^(v - mx) (0 where maskRow,
// if not nil, is 0) and returns their sum, added in order in float64. The
// exponentials come a block at a time from kernels.ExpShift (AVX2) where
// the CPU has it, else from expNonPositive: the same bits either way.
func softmaxExp32(row, maskRow []float32, mx float64) float64 {
	var buf [256]float64
	var sum float64
	for lo := 0; lo < len(row); lo += len(buf) {
		seg := row[lo:min(lo+len(buf), len(row))]
		e := buf[:len(seg)]
		for i := kernels.ExpShift(e, seg, mx); i < len(seg); i++ {
			e[i] = expNonPositive(float64(seg[i]) - mx)
		}
		for i := range seg {
			if maskRow != nil && maskRow[lo+i] == 0 {
				seg[i] = 0
				continue
			}
			seg[i] = float32(e[i])
			sum += e[i]
		}
	}
	return sum
}

// attentionWeights computes, into p (T x T), the attention weights of the
// head whose query and key rows are qh and kh ([dh, T] each, row stride T),
// the keys limited by maskRow (nil: all).
func attentionWeights[F float](p, qh, kh []F, maskRow []F, T, dh int, scale float64) {
	gemm(true, false, T, T, dh, F(scale), qh, T, kh, T, 0, p, T)
	for t := range T {
		row := p[t*T : (t+1)*T]
		mx := math.Inf(-1)
		for s, v := range row {
			if maskRow != nil && maskRow[s] == 0 {
				continue
			}
			mx = max(mx, float64(v))
		}
		if math.IsInf(mx, -1) { // no key: the query attends to nothing
			clear(row)
			continue
		}
		var sum float64
		if r32, ok := any(row).([]float32); ok {
			sum = softmaxExp32(r32, any(maskRow).([]float32), mx)
		} else {
			for s, v := range row {
				if maskRow != nil && maskRow[s] == 0 {
					row[s] = 0
					continue
				}
				e := math.Exp(float64(v) - mx) // gradient checks: the library's
				row[s] = F(e)
				sum += e
			}
		}
		inv := F(1 / sum)
		for s := range row {
			row[s] *= inv
		}
	}
}

// attentionForward runs every (sample, head) pair, in parallel.
func attentionForward[F float](a *attentionOp, out []F, in []buf, get func(buf) []F) {
	_, _, T, dh, _ := a.dims(in[0].shape)
	v := get(in[2])
	eachHead(a, in, get, func(off int, p []F) {
		// out[j, t] = sum_s v[j, s] p[t, s]
		gemm(false, true, dh, T, T, 1, v[off:], T, p, T, 0, out[off:], T)
	})
}

// eachHead computes the attention weights p (T x T) of every (sample,
// head) pair, in parallel, and calls f with them and the offset of the
// head's rows in q, k, v and the output.
func eachHead[F float](a *attentionOp, in []buf, get func(buf) []F, f func(off int, p []F)) {
	B, D, T, dh, scale := a.dims(in[0].shape)
	q, k := get(in[0]), get(in[1])
	var mask []F
	if a.masked {
		mask = get(in[3])
	}
	parallelUnits(B*a.heads, B*a.heads*T*T*dh, func(lo, hi int) {
		p, done := scratch[F](T * T)
		defer done()
		for u := lo; u < hi; u++ {
			b, h := u/a.heads, u%a.heads
			off := (b*D + h*dh) * T
			var maskRow []F
			if mask != nil {
				maskRow = mask[b*T : (b+1)*T]
			}
			attentionWeights(p, q[off:], k[off:], maskRow, T, dh, scale)
			f(off, p)
		}
	})
}

// attentionBackward computes one of dq, dk, dv, recomputing the weights.
func attentionBackward[F float](a *attentionGradOp, out []F, in []buf, get func(buf) []F) {
	_, _, T, dh, scale := a.dims(in[0].shape)
	q, k, v := get(in[0]), get(in[1]), get(in[2])
	gout := get(in[len(in)-1])
	eachHead(&a.attentionOp, in, get, func(off int, p []F) {
		if a.wrt == 2 { // dv[j, s] = sum_t gout[j, t] p[t, s]
			gemm(false, false, dh, T, T, 1, gout[off:], T, p, T, 0, out[off:], T)
			return
		}
		// dp[t, s] = sum_j gout[j, t] v[j, s]; ds = p * (dp - rowsum(p*dp))
		dp, done := scratch[F](T * T)
		defer done()
		gemm(true, false, T, T, dh, 1, gout[off:], T, v[off:], T, 0, dp, T)
		for t := range T {
			pr, dr := p[t*T:(t+1)*T], dp[t*T:(t+1)*T]
			var dot float64
			for s := range pr {
				dot += float64(pr[s]) * float64(dr[s])
			}
			for s := range pr {
				dr[s] = pr[s] * (dr[s] - F(dot))
			}
		}
		if a.wrt == 0 { // dq[j, t] = scale sum_s k[j, s] ds[t, s]
			gemm(false, true, dh, T, T, F(scale), k[off:], T, dp, T, 0, out[off:], T)
		} else { // dk[j, s] = scale sum_t q[j, t] ds[t, s]
			gemm(false, false, dh, T, T, F(scale), q[off:], T, dp, T, 0, out[off:], T)
		}
	})
}

// scratchPool keeps the attention matrices of float32 runs, which long
// windows make large (T x T), for the next call.
var scratchPool sync.Pool

// scratch returns a slice of n values and the function that gives it back:
// pooled for float32, allocated for the float64 of gradient checks.
func scratch[F float](n int) ([]F, func()) {
	var zero F
	if _, ok := any(zero).(float32); !ok {
		return make([]F, n), func() {}
	}
	if p, ok := scratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		s := (*p)[:n]
		return any(s).([]F), func() { scratchPool.Put(p) }
	}
	s := make([]float32, n)
	return any(s).([]F), func() { scratchPool.Put(&s) }
}

// gemm is C = alpha op(A) op(B) + beta C on row-major matrices (BLAS's
// sgemm/dgemm), for either element type.
func gemm[F float](transA, transB bool, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	switch c := any(c).(type) {
	case []float32:
		kernels.Sgemm(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), c, ldc)
	case []float64:
		kernels.Dgemm(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), c, ldc)
	}
}

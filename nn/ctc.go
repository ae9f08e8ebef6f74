package nn

import (
	"fmt"
	"math"
	"sync"
)

// CTCConfig configures the CTC loss. The zero value means blank index 0 and
// infinite losses reported as +Inf.
type CTCConfig struct {
	Blank int // index of the blank symbol
	// ZeroInfinity replaces the infinite loss of an utterance that is too
	// short for its labels (and its gradient) by zero, as PyTorch's
	// zero_infinity does; without it the loss is +Inf and the gradient zero.
	ZeroInfinity bool
}

// CTCMinFrames returns the fewest frames that can emit labels: one per
// label plus one blank between each pair of equal neighbours.
func CTCMinFrames(labels []int) int {
	n := len(labels)
	for i := 1; i < len(labels); i++ {
		if labels[i] == labels[i-1] {
			n++
		}
	}
	return n
}

// CTCLoss returns -log p(labels | x) for one utterance of T frames over a
// vocabulary of V symbols, given logProbs, the [T, V] row-major log-softmax
// of the network's logits (frame t, symbol v at t*V+v), by the log-space
// forward-backward algorithm (Graves et al. 2006).
//
// If grad is not nil it receives the gradient of the loss with respect to
// the logits (not the log-probabilities): softmax(t, v) minus the posterior
// occupancy of symbol v at frame t, the usual fused form of CTC and
// log-softmax. It must have length T*V, as logProbs must: a wrong length is
// a programming error and panics.
//
// An utterance too short for its labels (T < CTCMinFrames(labels)), or whose
// log-probabilities make every alignment impossible, has loss +Inf and a zero
// gradient; with cfg.ZeroInfinity both are zero. NaN in logProbs gives a NaN
// loss and a zero gradient. Labels outside [0, V) or equal to the blank are
// an error.
func CTCLoss[F float32 | float64](cfg CTCConfig, grad, logProbs []F, T, V int, labels []int) (float64, error) {
	if T < 0 || V <= 0 || len(logProbs) != T*V || (grad != nil && len(grad) != T*V) {
		panic(fmt.Sprintf("nn: CTCLoss: T=%d V=%d with %d log-probs and %d gradient values", T, V, len(logProbs), len(grad)))
	}
	if err := checkCTCLabels(cfg.Blank, V, labels); err != nil {
		return 0, fmt.Errorf("nn: ctc: %w", err)
	}
	w := ctcWorkPool.Get().(*ctcWork)
	defer ctcWorkPool.Put(w)
	return ctcLoss(w, cfg, grad, logProbs, T, V, labels), nil
}

func checkCTCLabels(blank, V int, labels []int) error {
	if blank < 0 || blank >= V {
		return fmt.Errorf("blank %d outside the vocabulary of %d symbols", blank, V)
	}
	for i, l := range labels {
		if l < 0 || l >= V || l == blank {
			return fmt.Errorf("label %d at position %d: want a symbol in [0, %d) other than the blank %d", l, i, V, blank)
		}
	}
	return nil
}

// ctcWork holds the buffers of one forward-backward pass, reused across calls.
type ctcWork struct {
	ext         []int     // labels with blanks around and between them
	alpha, beta []float64 // [T, S] log forward and backward variables
	occ         []float64 // [V] occupancy of one frame
	lp, grad    []float64 // [T, V] log-softmax and gradient, for the batch
}

var ctcWorkPool = sync.Pool{New: func() any { return new(ctcWork) }}

var ctcNegInf = math.Inf(-1)

// logAdd returns log(exp(a) + exp(b)).
func logAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if b == ctcNegInf {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// logAdd3 returns log(exp(a) + exp(b) + exp(c)).
func logAdd3(a, b, c float64) float64 {
	m := max(a, b, c)
	if m == ctcNegInf {
		return m
	}
	return m + math.Log(math.Exp(a-m)+math.Exp(b-m)+math.Exp(c-m))
}

func ctcGrow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// ctcLoss runs the forward-backward pass; arguments as for CTCLoss, checked.
func ctcLoss[F float32 | float64](w *ctcWork, cfg CTCConfig, grad, lp []F, T, V int, labels []int) float64 {
	if grad != nil {
		clear(grad)
	}
	L := len(labels)
	if T < CTCMinFrames(labels) {
		return ctcInfinite(cfg)
	}
	if T == 0 { // and no labels: the empty alignment, probability 1
		return 0
	}
	S := 2*L + 1
	w.ext = ctcGrow(w.ext, S)
	for s := range S {
		w.ext[s] = cfg.Blank
		if s%2 == 1 {
			w.ext[s] = labels[s/2]
		}
	}
	ext := w.ext
	// skip[s]: the transition s-2 -> s is allowed (s a label unlike s-2).
	skip := func(s int) bool { return s%2 == 1 && s >= 2 && ext[s] != ext[s-2] }

	w.alpha = ctcGrow(w.alpha, T*S)
	alpha := w.alpha
	for s := range S {
		alpha[s] = ctcNegInf
	}
	alpha[0] = float64(lp[cfg.Blank])
	if S > 1 {
		alpha[1] = float64(lp[ext[1]])
	}
	for t := 1; t < T; t++ {
		prev, cur, row := alpha[(t-1)*S:t*S], alpha[t*S:(t+1)*S], lp[t*V:(t+1)*V]
		// States that can still reach the end: s >= S - 2*(T-t).
		lo := max(0, S-2*(T-t))
		hi := min(S, 2*t+2)
		for s := range lo {
			cur[s] = ctcNegInf
		}
		for s := lo; s < hi; s++ {
			var a float64
			switch {
			case skip(s):
				a = logAdd3(prev[s], prev[s-1], prev[s-2])
			case s >= 1:
				a = logAdd(prev[s], prev[s-1])
			default:
				a = prev[s]
			}
			cur[s] = a + float64(row[ext[s]])
		}
		for s := hi; s < S; s++ {
			cur[s] = ctcNegInf
		}
	}
	last := alpha[(T-1)*S:]
	logp := last[S-1]
	if S > 1 {
		logp = logAdd(logp, last[S-2])
	}
	if math.IsNaN(logp) {
		return math.NaN()
	}
	if logp == ctcNegInf {
		return ctcInfinite(cfg)
	}
	if grad == nil {
		return -logp
	}

	// beta[t][s]: log probability of emitting the rest after frame t from
	// state s at frame t (the emission at t excluded).
	w.beta = ctcGrow(w.beta, T*S)
	beta := w.beta
	for s := range S {
		beta[(T-1)*S+s] = ctcNegInf
	}
	beta[(T-1)*S+S-1] = 0
	if S > 1 {
		beta[(T-1)*S+S-2] = 0
	}
	for t := T - 2; t >= 0; t-- {
		next, cur, row := beta[(t+1)*S:(t+2)*S], beta[t*S:(t+1)*S], lp[(t+1)*V:(t+2)*V]
		// Only states reachable from the start (s <= 2t+1) need beta.
		hi := min(S, 2*t+2)
		for s := range hi {
			b0 := next[s] + float64(row[ext[s]])
			switch {
			case s+2 < S && skip(s+2):
				cur[s] = logAdd3(b0, next[s+1]+float64(row[ext[s+1]]), next[s+2]+float64(row[ext[s+2]]))
			case s+1 < S:
				cur[s] = logAdd(b0, next[s+1]+float64(row[ext[s+1]]))
			default:
				cur[s] = b0
			}
		}
		for s := hi; s < S; s++ {
			cur[s] = ctcNegInf
		}
	}

	w.occ = ctcGrow(w.occ, V)
	occ := w.occ
	for t := range T {
		clear(occ)
		a, b := alpha[t*S:(t+1)*S], beta[t*S:(t+1)*S]
		for s := range S {
			if x := a[s] + b[s]; x != ctcNegInf {
				occ[ext[s]] += math.Exp(x - logp)
			}
		}
		row, g := lp[t*V:(t+1)*V], grad[t*V:(t+1)*V]
		for v := range V {
			g[v] = F(math.Exp(float64(row[v])) - occ[v])
		}
	}
	return -logp
}

func ctcInfinite(cfg CTCConfig) float64 {
	if cfg.ZeroInfinity {
		return 0
	}
	return math.Inf(1)
}

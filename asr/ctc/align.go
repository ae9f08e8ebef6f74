package ctc

import (
	"errors"
	"fmt"
	"math"
)

// ErrTooShort reports that a label sequence needs more frames than there
// are: one per label, plus one blank between two equal neighbours.
var ErrTooShort = errors.New("ctc: the labels need more frames than the input has")

// ErrNoAlignment reports that every alignment of a label sequence has
// probability zero (a label's log probability is -Inf wherever it could go).
var ErrNoAlignment = errors.New("ctc: every alignment of the labels has probability zero")

// logAdd returns log(exp(a) + exp(b)) without overflow.
func logAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// ctcStates returns the CTC topology of labels: blank, l1, blank, l2, ...,
// blank (2L+1 states). It panics if a label is the blank or out of range.
func ctcStates(labels []int, V, blank int) []int {
	ext := make([]int, 2*len(labels)+1)
	for i := range ext {
		ext[i] = blank
	}
	for i, l := range labels {
		if l < 0 || l >= V || l == blank {
			panic(fmt.Sprintf("ctc: label %d at position %d is the blank or out of range [0, %d)", l, i, V))
		}
		ext[2*i+1] = l
	}
	return ext
}

// canSkip reports whether state s may be entered from s-2, skipping the
// blank between two different labels.
func canSkip(ext []int, s int) bool {
	return s >= 2 && ext[s] != ext[s-2]
}

// SequenceLogProb returns the CTC log likelihood log P(labels | logProbs):
// the log of the sum, over all frame alignments that collapse to labels, of
// the product of their frame probabilities. It runs the forward algorithm in
// O(T * len(labels)) time, with probabilities scaled frame by frame instead
// of logarithms (so an alignment less likely than about 1e-300 times the
// frame's best counts as zero). It is -Inf when labels need more than T
// frames. logProbs is T x V row-major as for GreedyAlign; it panics on a
// shape mistake or a label that is the blank or out of range.
func SequenceLogProb(logProbs []float32, T, V, blank int, labels []int) float64 {
	checkShape(logProbs, T, V, blank)
	ext := ctcStates(labels, V, blank)
	S := len(ext)
	if T == 0 {
		if len(labels) == 0 {
			return 0
		}
		return math.Inf(-1)
	}
	p := make([]float64, V) // the frame's probabilities over its largest
	alpha := make([]float64, S)
	next := make([]float64, S)
	logScale := 0.0
	for t := range T {
		row := logProbs[t*V : (t+1)*V]
		m := logProb(row[argmax(row)])
		if math.IsInf(m, -1) {
			return m
		}
		for k := range p {
			p[k] = math.Exp(logProb(row[k]) - m)
		}
		logScale += m
		if t == 0 {
			alpha[0] = p[blank]
			if S > 1 {
				alpha[1] = p[ext[1]]
			}
		} else {
			for s := range next {
				a := alpha[s]
				if s >= 1 {
					a += alpha[s-1]
				}
				if canSkip(ext, s) {
					a += alpha[s-2]
				}
				next[s] = a * p[ext[s]]
			}
			alpha, next = next, alpha
		}
		var sum float64
		for _, a := range alpha {
			sum += a
		}
		if sum == 0 {
			return math.Inf(-1)
		}
		for s := range alpha {
			alpha[s] /= sum
		}
		logScale += math.Log(sum)
	}
	end := alpha[S-1]
	if S > 1 {
		end += alpha[S-2]
	}
	return logScale + math.Log(end)
}

// Align is CTC forced alignment: the most likely frame alignment of labels
// (Viterbi), returned as one Token per label with the frames it covers, and
// that alignment's log probability. It returns ErrTooShort if labels need
// more than T frames and ErrNoAlignment if no alignment has a non-zero
// probability. Memory is T * (2*len(labels)+1) bytes, so align
// windows of a long recording rather than the whole of it. Arguments as for
// SequenceLogProb.
func Align(logProbs []float32, T, V, blank int, labels []int) ([]Token, float64, error) {
	checkShape(logProbs, T, V, blank)
	ext := ctcStates(labels, V, blank)
	S := len(ext)
	need := len(labels)
	for i := 1; i < len(labels); i++ {
		if labels[i] == labels[i-1] {
			need++
		}
	}
	if need > T || T == 0 {
		if T == 0 && len(labels) == 0 {
			return nil, 0, nil
		}
		return nil, math.Inf(-1), fmt.Errorf("%w: %d labels need %d frames, the input has %d", ErrTooShort, len(labels), need, T)
	}
	// back[t*S+s] is how many states the best path into s at t moved: 0-2.
	back := make([]uint8, T*S)
	prev := make([]float64, S)
	cur := make([]float64, S)
	for s := range prev {
		prev[s] = math.Inf(-1)
	}
	prev[0] = logProb(logProbs[blank])
	if S > 1 {
		prev[1] = logProb(logProbs[ext[1]])
	}
	for t := 1; t < T; t++ {
		row := logProbs[t*V : (t+1)*V]
		for s := range cur {
			best, step := prev[s], uint8(0)
			if s >= 1 && prev[s-1] > best {
				best, step = prev[s-1], 1
			}
			if canSkip(ext, s) && prev[s-2] > best {
				best, step = prev[s-2], 2
			}
			cur[s] = best + logProb(row[ext[s]])
			back[t*S+s] = step
		}
		prev, cur = cur, prev
	}
	s := S - 1
	if S > 1 && prev[S-2] > prev[S-1] {
		s = S - 2
	}
	score := prev[s]
	if math.IsInf(score, -1) {
		return nil, score, ErrNoAlignment
	}
	tokens := make([]Token, len(labels))
	for i := range tokens {
		tokens[i] = Token{ID: labels[i], Start: -1}
	}
	for t := T - 1; t >= 0; t-- {
		if s%2 == 1 {
			tk := &tokens[s/2]
			if tk.Start < 0 {
				tk.End = t + 1
			}
			tk.Start = t
		}
		if t > 0 {
			s -= int(back[t*S+s])
		}
	}
	return tokens, score, nil
}

// FrameLabels turns an alignment (tokens in order, as Align returns them)
// into one label per frame of T: each frame takes the token whose centre is
// nearest in time, and the frames before the first token and after the
// last (leading and trailing silence) are -1. No tokens give all -1.
func FrameLabels(tokens []Token, T int) []int {
	y := make([]int, T)
	for t := range y {
		y[t] = -1
	}
	if len(tokens) == 0 {
		return y
	}
	first, last := max(tokens[0].Start, 0), min(tokens[len(tokens)-1].End, T)
	k := 0
	centre := func(i int) float64 { return float64(tokens[i].Start+tokens[i].End) / 2 }
	for t := first; t < last; t++ {
		mid := float64(t) + 0.5
		for k+1 < len(tokens) && centre(k+1)-mid < mid-centre(k) {
			k++
		}
		y[t] = tokens[k].ID
	}
	return y
}

package ctc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// collapse maps a frame path to its CTC labels.
func collapse(path []int, blank int) []int {
	var out []int
	prev := -1
	for _, k := range path {
		if k != blank && k != prev {
			out = append(out, k)
		}
		prev = k
	}
	return out
}

// bruteForce enumerates all V^T frame paths and returns, per label sequence
// (keyed by fmt of the slice), the total and the best path probability, and
// the best path itself.
type bruteEntry struct {
	labels    []int
	sum, best float64 // probabilities, not logs
	bestPath  []int
}

func bruteForce(lp []float32, T, V, blank int) map[string]*bruteEntry {
	out := map[string]*bruteEntry{}
	path := make([]int, T)
	var walk func(t int, p float64)
	walk = func(t int, p float64) {
		if t == T {
			l := collapse(path, blank)
			key := fmt.Sprint(l)
			e, ok := out[key]
			if !ok {
				e = &bruteEntry{labels: l}
				out[key] = e
			}
			e.sum += p
			if p > e.best {
				e.best, e.bestPath = p, slices.Clone(path)
			}
			return
		}
		for k := range V {
			path[t] = k
			walk(t+1, p*math.Exp(float64(lp[t*V+k])))
		}
	}
	walk(0, 1)
	return out
}

// TestSequenceLogProbBrute compares the forward algorithm and the forced
// alignment with an enumeration of every path of small matrices.
func TestSequenceLogProbBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range []struct{ T, V, blank int }{{1, 3, 0}, {4, 3, 0}, {6, 3, 2}, {5, 4, 1}} {
		t.Run(fmt.Sprintf("T%d_V%d", sz.T, sz.V), func(t *testing.T) {
			lp := randomLogProbs(rng, sz.T, sz.V, 1.5)
			var total float64
			for key, e := range bruteForce(lp, sz.T, sz.V, sz.blank) {
				total += e.sum
				got := SequenceLogProb(lp, sz.T, sz.V, sz.blank, e.labels)
				if want := math.Log(e.sum); math.Abs(got-want) > 1e-5 {
					t.Errorf("%s: log prob %v, want %v", key, got, want)
				}
				tokens, score, err := Align(lp, sz.T, sz.V, sz.blank, e.labels)
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if want := math.Log(e.best); math.Abs(score-want) > 1e-5 {
					t.Errorf("%s: best path log prob %v, want %v", key, score, want)
				}
				path := tokensToPath(tokens, sz.T, sz.blank)
				if !slices.Equal(collapse(path, sz.blank), e.labels) {
					t.Errorf("%s: alignment %v does not spell the labels", key, path)
				}
				if !slices.Equal(path, e.bestPath) && strictlyWorse(path, e, lp, sz.V) {
					t.Errorf("%s: alignment %v, want %v", key, path, e.bestPath)
				}
			}
			if math.Abs(total-1) > 1e-5 {
				t.Errorf("probabilities of all label sequences sum to %v", total)
			}
		})
	}
}

// tokensToPath spells an alignment frame by frame, blanks between tokens.
func tokensToPath(tokens []Token, T, blank int) []int {
	path := make([]int, T)
	for i := range path {
		path[i] = blank
	}
	for _, tk := range tokens {
		for f := tk.Start; f < tk.End; f++ {
			path[f] = tk.ID
		}
	}
	return path
}

// strictlyWorse reports whether a path that differs from the enumerated best
// is really less likely (and not merely tied).
func strictlyWorse(path []int, e *bruteEntry, lp []float32, V int) bool {
	var p float64 = 1
	for t, k := range path {
		p *= math.Exp(float64(lp[t*V+k]))
	}
	return math.Abs(p-e.best) > 1e-9*e.best
}

func TestAlignErrors(t *testing.T) {
	lp := framesFor(3, 0.8, 1, 1)
	if _, _, err := Align(lp, 2, 3, 0, []int{1, 1}); !errors.Is(err, ErrTooShort) {
		t.Errorf("two equal labels in two frames: %v, want ErrTooShort", err)
	}
	if got := SequenceLogProb(lp, 2, 3, 0, []int{1, 1}); !math.IsInf(got, -1) {
		t.Errorf("SequenceLogProb = %v, want -Inf", got)
	}
	inf := float32(math.Inf(-1))
	zero := []float32{0, inf, inf, 0, inf, inf} // only blanks possible
	if _, _, err := Align(zero, 2, 3, 0, []int{2}); !errors.Is(err, ErrNoAlignment) {
		t.Errorf("impossible label: %v, want ErrNoAlignment", err)
	}
	if tokens, score, err := Align(zero, 2, 3, 0, nil); err != nil || len(tokens) != 0 || score != 0 {
		t.Errorf("no labels: %v %v %v", tokens, score, err)
	}
	if tokens, _, err := Align(nil, 0, 3, 0, nil); err != nil || tokens != nil {
		t.Errorf("no frames, no labels: %v %v", tokens, err)
	}
}

func TestFrameLabels(t *testing.T) {
	// Tokens 5 at [2,3), 6 at [4,6), 7 at [9,10) over 12 frames: centres
	// 2.5, 5 and 9.5; frame t (centre t+0.5) takes the nearest, the
	// silence before 2 and from 10 on is -1.
	tokens := []Token{{ID: 5, Start: 2, End: 3}, {ID: 6, Start: 4, End: 6}, {ID: 7, Start: 9, End: 10}}
	got := FrameLabels(tokens, 12)
	want := []int{-1, -1, 5, 5, 6, 6, 6, 7, 7, 7, -1, -1}
	if !slices.Equal(got, want) {
		t.Errorf("FrameLabels = %v, want %v", got, want)
	}
	if got := FrameLabels(nil, 3); !slices.Equal(got, []int{-1, -1, -1}) {
		t.Errorf("FrameLabels(nil) = %v, want all -1", got)
	}
}

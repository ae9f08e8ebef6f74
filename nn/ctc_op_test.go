package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestCTCOpGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	tests := []struct {
		name    string
		B, V, T int
		red     CTCReduction
		factor  float64
		lengths []int
		labels  [][]int
	}{
		// The last utterance is too short: zero_infinity drops it.
		{"mean", 3, 3, 4, CTCMean, 0, []int{4, 3, 1}, [][]int{{1, 2}, {1, 1}, {1, 2}}},
		{"sum scaled", 2, 4, 5, CTCSum, 2.5, []int{5, 2}, [][]int{{3, 3, 1}, nil}},
		{"batch of one", 1, 3, 4, CTCMean, 0, []int{4}, [][]int{{2}}},
		{"blank last", 2, 3, 3, CTCMean, 0, []int{3, 3}, [][]int{{0, 1}, {1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logits := randParam(rng, "logits", tc.B, tc.V, tc.T)
			blank := 0
			if tc.name == "blank last" {
				blank = tc.V - 1
			}
			checkGrad(t, func(g *Graph) *Node {
				loss, h := g.CTC(g.Param(logits), CTCConfig{Blank: blank, ZeroInfinity: true}, tc.red)
				if err := h.SetTargets(tc.lengths, tc.labels); err != nil {
					t.Fatal(err)
				}
				if tc.factor != 0 {
					loss = g.Scale(loss, tc.factor)
				}
				return loss
			}, logits)
		})
	}
}

func TestCTCOpRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const B, V, T = 3, 5, 8
	logits := randParam(rng, "logits", B, V, T)
	lengths := []int{8, 6, 2}
	labels := [][]int{{1, 2, 2}, {4}, {3, 3}} // the last needs 3 frames
	for _, tc := range []struct {
		red  CTCReduction
		zero bool
	}{{CTCSum, false}, {CTCMean, true}, {CTCSum, true}} {
		g := NewGraph()
		loss, h := g.CTC(g.Param(logits), CTCConfig{ZeroInfinity: tc.zero}, tc.red)
		prog, err := g.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(prog.Loss()) {
			t.Errorf("run without targets: loss %g, want NaN", prog.Loss())
		}
		logits.ZeroGrad()
		if err := h.SetTargets(lengths, labels); err != nil {
			t.Fatal(err)
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		want := make([]float64, B)
		grad := make([]float32, B*V*T)
		CTCBatchLoss(CTCConfig{ZeroInfinity: tc.zero}, want, grad, logits.Data, B, V, T, lengths, labels)
		if got := h.Losses(); !slices.Equal(got, want) {
			t.Errorf("Losses() = %v, want %v", got, want)
		}
		total := want[0] + want[1] + want[2]
		if tc.red == CTCMean {
			total /= B
		}
		if l := prog.Loss(); l != float64(float32(total)) {
			t.Errorf("%v zero=%v: loss %g, want %g", tc.red, tc.zero, l, total)
		}
		if !tc.zero && !math.IsInf(prog.Loss(), 1) {
			t.Errorf("too-short utterance without zero_infinity: loss %g, want +Inf", prog.Loss())
		}
		scale := float32(1)
		if tc.red == CTCMean {
			scale = float32(1.0 / B)
		}
		for i, gv := range logits.Grad {
			if w := grad[i] * scale; math.Abs(float64(gv-w)) > 1e-6 || math.IsNaN(float64(gv)) {
				t.Fatalf("grad[%d] = %g, want %g", i, gv, w)
			}
		}
		if ts := h.TooShort(); !slices.Equal(ts, []int{2}) {
			t.Errorf("TooShort() = %v, want [2]", ts)
		}
		prog.Close()
	}
}

func TestCTCOpErrors(t *testing.T) {
	g := NewGraph()
	x := g.Input("x", 2, 3)
	if _, h := g.CTC(x, CTCConfig{}, CTCSum); g.Err() == nil || h.SetTargets([]int{1, 1}, [][]int{{1}, {1}}) == nil {
		t.Error("2-D logits: no error")
	}
	g = NewGraph()
	if g.CTC(g.Input("x", 2, 3, 4), CTCConfig{Blank: 3}, CTCSum); g.Err() == nil {
		t.Error("blank outside the vocabulary: no error")
	}
	g = NewGraph()
	_, h := g.CTC(g.Input("x", 2, 3, 4), CTCConfig{}, CTCMean)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.SetTargets([]int{5, 4}, [][]int{{1}, {0}}); err == nil {
		t.Error("bad targets: no error")
	}
}

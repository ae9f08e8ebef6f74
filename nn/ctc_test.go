package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// logSoftmaxRows returns the row-wise log-softmax of a [T, V] matrix.
func logSoftmaxRows(x []float64, T, V int) []float64 {
	out := make([]float64, len(x))
	for t := range T {
		row := x[t*V : (t+1)*V]
		m := slices.Max(row)
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for v := range V {
			out[t*V+v] = row[v] - m - math.Log(s)
		}
	}
	return out
}

// collapse applies the CTC collapsing map: merge repeats, drop blanks.
func collapse(path []int, blank int) []int {
	var out []int
	for i, s := range path {
		if s != blank && (i == 0 || path[i-1] != s) {
			out = append(out, s)
		}
	}
	return out
}

// bruteCTC sums the probability of every path that collapses to labels.
func bruteCTC(lp []float64, T, V int, labels []int, blank int) (p float64, count int) {
	path := make([]int, T)
	var rec func(t int, logp float64)
	rec = func(t int, logp float64) {
		if t == T {
			if slices.Equal(collapse(path, blank), labels) {
				p += math.Exp(logp)
				count++
			}
			return
		}
		for v := range V {
			path[t] = v
			rec(t+1, logp+lp[t*V+v])
		}
	}
	rec(0, 0)
	return p, count
}

// allLabelings lists every sequence of length <= maxLen over the non-blank
// symbols, the empty one included.
func allLabelings(V, blank, maxLen int) [][]int {
	out := [][]int{{}}
	prev := [][]int{{}}
	for range maxLen {
		var next [][]int
		for _, p := range prev {
			for v := range V {
				if v != blank {
					next = append(next, append(slices.Clone(p), v))
				}
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

func TestCTCLossBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dims := range []struct{ T, V, blank int }{
		{1, 2, 0}, {2, 2, 0}, {3, 3, 0}, {4, 3, 0}, {5, 3, 0}, {5, 3, 2}, {4, 2, 1}, {0, 3, 0},
	} {
		T, V := dims.T, dims.V
		logits := make([]float64, T*V)
		for i := range logits {
			logits[i] = 2 * rng.NormFloat64()
		}
		lp := logSoftmaxRows(logits, T, V)
		for _, labels := range allLabelings(V, dims.blank, min(T+1, 4)) {
			want, count := bruteCTC(lp, T, V, labels, dims.blank)
			got, err := CTCLoss(CTCConfig{Blank: dims.blank}, nil, lp, T, V, labels)
			if err != nil {
				t.Fatal(err)
			}
			if count == 0 {
				if !math.IsInf(got, 1) {
					t.Errorf("T=%d V=%d labels %v: no alignment, loss %g, want +Inf", T, V, labels, got)
				}
				if T >= CTCMinFrames(labels) {
					t.Errorf("T=%d labels %v: CTCMinFrames %d but no alignment", T, labels, CTCMinFrames(labels))
				}
				continue
			}
			if w := -math.Log(want); math.Abs(got-w) > 1e-12*math.Max(1, math.Abs(w)) {
				t.Errorf("T=%d V=%d blank %d labels %v: loss %.15g, brute force %.15g", T, V, dims.blank, labels, got, w)
			}
		}
	}
}

func TestCTCLossUniform(t *testing.T) {
	tests := []struct {
		T, V       int
		labels     []int
		alignments int
	}{
		{3, 2, []int{1}, 6}, // 100 010 001 110 011 111
		{3, 2, []int{1, 1}, 1},
		{3, 2, nil, 1},
		{2, 3, []int{1, 2}, 1},
		{3, 3, []int{1, 2}, 5}, // 012 102 120 112 122
		{4, 2, []int{1}, 10},
	}
	for _, tc := range tests {
		lp := make([]float64, tc.T*tc.V)
		for i := range lp {
			lp[i] = -math.Log(float64(tc.V))
		}
		got, err := CTCLoss(CTCConfig{}, nil, lp, tc.T, tc.V, tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		want := -math.Log(float64(tc.alignments) / math.Pow(float64(tc.V), float64(tc.T)))
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("T=%d V=%d labels %v: loss %.15g, want %.15g", tc.T, tc.V, tc.labels, got, want)
		}
	}
}

func TestCTCLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		T, V   int
		labels []int
	}{
		{6, 4, []int{1, 2, 2}},
		{5, 3, []int{1, 1}},
		{7, 5, nil},
		{4, 3, []int{2, 1, 2}},
		{1, 2, []int{1}},
	} {
		logits := make([]float64, tc.T*tc.V)
		for i := range logits {
			logits[i] = rng.NormFloat64()
		}
		loss := func(x []float64) float64 {
			l, err := CTCLoss(CTCConfig{}, nil, logSoftmaxRows(x, tc.T, tc.V), tc.T, tc.V, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		grad := make([]float64, len(logits))
		if _, err := CTCLoss(CTCConfig{}, grad, logSoftmaxRows(logits, tc.T, tc.V), tc.T, tc.V, tc.labels); err != nil {
			t.Fatal(err)
		}
		const h = 1e-5
		for i := range logits {
			x := slices.Clone(logits)
			x[i] += h
			up := loss(x)
			x[i] -= 2 * h
			fd := (up - loss(x)) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-7 {
				t.Errorf("T=%d V=%d labels %v: d/dlogit[%d] = %.10g, finite difference %.10g", tc.T, tc.V, tc.labels, i, grad[i], fd)
			}
		}
		// Each frame's gradient sums to zero (softmax minus a distribution).
		for f := range tc.T {
			var s float64
			for _, g := range grad[f*tc.V : (f+1)*tc.V] {
				s += g
			}
			if math.Abs(s) > 1e-12 {
				t.Errorf("frame %d gradient sums to %g", f, s)
			}
		}
	}
}

func TestCTCLossInfinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const V = 4
	for _, tc := range []struct {
		T      int
		labels []int
	}{
		{2, []int{1, 2, 3}},
		{3, []int{1, 1, 2}}, // needs 4 frames
		{0, []int{1}},
		{1, []int{2, 2}},
	} {
		lp := make([]float32, tc.T*V)
		for i := range lp {
			lp[i] = float32(-1 - rng.Float64())
		}
		for _, zero := range []bool{false, true} {
			grad := make([]float32, len(lp))
			for i := range grad {
				grad[i] = 7 // must be overwritten
			}
			got, err := CTCLoss(CTCConfig{ZeroInfinity: zero}, grad, lp, tc.T, V, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			want := math.Inf(1)
			if zero {
				want = 0
			}
			if got != want {
				t.Errorf("T=%d labels %v zeroInfinity=%v: loss %g, want %g", tc.T, tc.labels, zero, got, want)
			}
			for i, g := range grad {
				if g != 0 {
					t.Fatalf("T=%d labels %v: grad[%d] = %g, want 0", tc.T, tc.labels, i, g)
				}
			}
		}
	}
	// A label whose probability is exactly zero everywhere: impossible too.
	lp := []float64{0, math.Inf(-1), 0, math.Inf(-1)}
	grad := make([]float64, 4)
	if got, _ := CTCLoss(CTCConfig{}, grad, lp, 2, 2, []int{1}); !math.IsInf(got, 1) || slices.ContainsFunc(grad, math.IsNaN) {
		t.Errorf("zero-probability label: loss %g grad %v, want +Inf and no NaN", got, grad)
	}
}

func TestCTCLossBadLabels(t *testing.T) {
	lp := make([]float64, 3*3)
	for _, tc := range []struct {
		blank  int
		labels []int
	}{
		{0, []int{0}}, {0, []int{3}}, {0, []int{-1}}, {1, []int{1}}, {3, []int{1}}, {-1, nil},
	} {
		if _, err := CTCLoss(CTCConfig{Blank: tc.blank}, nil, lp, 3, 3, tc.labels); err == nil {
			t.Errorf("blank %d labels %v: no error", tc.blank, tc.labels)
		}
	}
}

func TestCTCLossFloat32MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const T, V = 50, 6
	logits := make([]float64, T*V)
	for i := range logits {
		logits[i] = rng.NormFloat64()
	}
	lp := logSoftmaxRows(logits, T, V)
	lp32 := make([]float32, len(lp))
	for i, x := range lp {
		lp32[i] = float32(x)
	}
	labels := []int{1, 2, 2, 3, 5, 4, 4, 4, 1}
	g64, g32 := make([]float64, len(lp)), make([]float32, len(lp))
	l64, _ := CTCLoss(CTCConfig{}, g64, lp, T, V, labels)
	l32, _ := CTCLoss(CTCConfig{}, g32, lp32, T, V, labels)
	if math.Abs(l64-l32) > 1e-4*l64 {
		t.Errorf("float32 loss %g, float64 %g", l32, l64)
	}
	for i := range g64 {
		if math.Abs(g64[i]-float64(g32[i])) > 1e-5 {
			t.Fatalf("grad[%d]: float32 %g, float64 %g", i, g32[i], g64[i])
		}
	}
}

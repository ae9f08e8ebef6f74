package pretrain

import (
	"math/rand/v2"
	"testing"
)

func TestSpanMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		T, M   int
		p      float64
		lo, hi float64 // bounds on the mean masked fraction
	}{
		{200, 10, 0.65, 0.40, 0.60},     // about half, as wav2vec 2.0
		{1000, 10, 0.065, 0.055, 0.068}, // 6.5 spans of 10, some overlapping
		{100, 10, 0.065, 0.17, 0.2},     // at least two spans
		{3, 10, 0.65, 0.6, 1},
		{2, 1, 0.01, 1, 1}, // at least two masked frames
	} {
		mask := make([]float32, tc.T)
		var sum float64
		const runs = 200
		for range runs {
			n := SpanMask(rng, mask, tc.p, tc.M)
			count := 0
			for _, v := range mask {
				if v != 0 && v != 1 {
					t.Fatalf("mask value %g", v)
				}
				if v == 1 {
					count++
				}
			}
			if count != n || n < min(2, tc.T) {
				t.Fatalf("T=%d: %d masked, reported %d", tc.T, count, n)
			}
			sum += float64(n) / float64(tc.T)
		}
		if mean := sum / runs; mean < tc.lo || mean > tc.hi {
			t.Errorf("T=%d M=%d p=%g: mean masked fraction %.3f, want in [%g, %g]", tc.T, tc.M, tc.p, mean, tc.lo, tc.hi)
		}
	}
}

func TestDistractors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		T, K   int
		masked []int
	}{
		{20, 5, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, // enough: distinct
		{20, 5, []int{3, 9}},                          // too few: with replacement
		{10, 3, []int{0, 1, 2, 3}},
	} {
		idx := make([]int32, tc.T*tc.K)
		Distractors(rng, idx, tc.masked, tc.T, tc.K)
		isMasked := map[int32]bool{}
		for _, u := range tc.masked {
			isMasked[int32(u)] = true
		}
		for ti := range tc.T {
			seen := map[int32]bool{}
			for _, u := range idx[ti*tc.K : (ti+1)*tc.K] {
				if u == int32(ti) {
					t.Fatalf("frame %d is its own distractor", ti)
				}
				if !isMasked[u] {
					t.Fatalf("distractor %d of frame %d is not masked", u, ti)
				}
				others := len(tc.masked)
				if isMasked[int32(ti)] {
					others--
				}
				if seen[u] && others >= tc.K {
					t.Fatalf("frame %d: distractor %d repeated although %d candidates exist", ti, u, others)
				}
				seen[u] = true
			}
		}
	}
}

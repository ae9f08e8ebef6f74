package pretrain

import (
	"math/rand/v2"
	"testing"
)

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

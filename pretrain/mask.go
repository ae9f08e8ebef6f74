package pretrain

import "math/rand/v2"

// minMasked is the fewest masked frames per utterance, so that every
// masked frame has at least one distractor.
const minMasked = 2

// SpanMask draws wav2vec 2.0's span mask for T frames into mask (length T,
// 1 = masked): int(p*T/M + U(0,1)) span starts (at least 2), drawn without
// replacement from the frames where a whole span fits, each masking M
// frames; spans may overlap. If fewer than 2 frames end up masked (very
// short inputs), random further frames are masked. It returns the number
// of masked frames. T must be at least 2.
func SpanMask(rng *rand.Rand, mask []float32, p float64, M int) int {
	T := len(mask)
	clear(mask)
	M = min(max(M, 1), T)
	starts := max(int(p*float64(T)/float64(M)+rng.Float64()), minMasked)
	room := T - M + 1
	starts = min(starts, room)
	// A partial Fisher-Yates shuffle of [0, room) picks distinct starts.
	perm := make([]int, room)
	for i := range perm {
		perm[i] = i
	}
	for i := range starts {
		j := i + rng.IntN(room-i)
		perm[i], perm[j] = perm[j], perm[i]
		for t := perm[i]; t < perm[i]+M; t++ {
			mask[t] = 1
		}
	}
	n := 0
	for _, v := range mask {
		if v != 0 {
			n++
		}
	}
	for n < min(minMasked, T) {
		t := rng.IntN(T)
		if mask[t] == 0 {
			mask[t] = 1
			n++
		}
	}
	return n
}

// Distractors draws, for every frame t of one utterance, K distractor
// frames among the masked frames other than t into idx (length T*K): K
// distinct frames when there are at least K others, else with replacement
// (fairseq always samples with replacement). Unmasked frames get
// distractors too (their loss weight is 0). masked lists the masked frames;
// it needs at least 2 entries.
func Distractors(rng *rand.Rand, idx []int32, masked []int, T, K int) {
	n := len(masked)
	pool := make([]int, n)
	for t := range T {
		out := idx[t*K : (t+1)*K]
		// The candidates are masked minus t: copy them once per frame.
		pool = pool[:0]
		for _, u := range masked {
			if u != t {
				pool = append(pool, u)
			}
		}
		m := len(pool)
		if m >= K {
			for i := range K {
				j := i + rng.IntN(m-i)
				pool[i], pool[j] = pool[j], pool[i]
				out[i] = int32(pool[i])
			}
			continue
		}
		for i := range K {
			out[i] = int32(pool[rng.IntN(m)])
		}
	}
}

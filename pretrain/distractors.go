package pretrain

import "math/rand/v2"

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

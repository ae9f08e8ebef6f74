package encoder

import "math/rand/v2"

// MinMaskSpans is the fewest spans SpanMask masks, as fairseq's and
// Hugging Face's wav2vec 2.0 (min_masks, mask_time_min_masks): at least 2
// masked frames, so that every masked frame has a distractor in
// pretraining.
const MinMaskSpans = 2

// SpanMask draws wav2vec 2.0's span mask for T frames into mask (length T,
// 1 = masked), as fairseq's compute_mask_indices does: int(p*T/M + U(0,1))
// span starts, at least MinMaskSpans, drawn without replacement from the
// frames where a whole span fits, each masking M frames (at most T); spans
// may overlap. It returns the number of masked frames, at least 2 when
// T >= 2. p <= 0 masks nothing and draws nothing. Pretraining and
// fine-tuning both use it: drawing starts without replacement, as fairseq
// does, keeps the masked fraction close to p even for short inputs, where
// starts drawn with replacement coincide.
func SpanMask(rng *rand.Rand, mask []float32, p float64, M int) int {
	return SpanMaskMin(rng, mask, p, M, MinMaskSpans)
}

// SpanMaskMin is SpanMask with at least minSpans spans instead of
// MinMaskSpans: fairseq and Hugging Face mask channels (mask_channel_prob,
// mask_feature_prob) with no minimum.
func SpanMaskMin(rng *rand.Rand, mask []float32, p float64, M, minSpans int) int {
	T := len(mask)
	clear(mask)
	if p <= 0 || T == 0 {
		return 0
	}
	M = min(max(M, 1), T)
	starts := max(int(p*float64(T)/float64(M)+rng.Float64()), minSpans)
	room := T - M + 1
	starts = min(starts, room)
	if starts <= 0 {
		return 0
	}
	// A partial Fisher-Yates shuffle of [0, room) picks distinct starts.
	perm := make([]int, room)
	for i := range perm {
		perm[i] = i
	}
	n := 0
	for i := range starts {
		j := i + rng.IntN(room-i)
		perm[i], perm[j] = perm[j], perm[i]
		for t := perm[i]; t < perm[i]+M; t++ {
			if mask[t] == 0 {
				mask[t] = 1
				n++
			}
		}
	}
	return n
}

package pretrain

import (
	"math"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/dataset"
)

// vowels are (F1, F2, F3) formant frequencies in Hz of a few vowels.
var vowels = [][3]float64{
	{730, 1090, 2440}, {270, 2290, 3010}, {530, 1840, 2480}, {300, 870, 2240},
	{660, 1720, 2410}, {490, 1350, 1690}, {570, 840, 2410},
}

// synthUtterance returns n samples at 16 kHz of a babble of vowel-like
// segments (harmonics of the utterance's pitch, 100 or 200 Hz, shaped by
// the formants of one of a few vowels, 120-350 ms each) and noise bursts, normalised to zero mean and unit
// variance. A segment is longer than most masked spans, so a masked frame
// can be predicted from its neighbours.
func synthUtterance(rng *rand.Rand, n int) []float32 {
	x := make([]float64, n)
	// The pitch is a multiple of 100 Hz, so that every 10 ms frame holds
	// whole pitch periods and the frames of a segment look alike: the
	// targets are then predictable from the neighbouring frames.
	pitch := float64(100 * (1 + rng.IntN(2)))
	for pos := 0; pos < n; {
		seg := 1920 + rng.IntN(3680)
		end := min(pos+seg, n)
		if rng.IntN(6) == 0 { // a fricative-like noise burst
			amp := 0.3 + 0.3*rng.Float64()
			prev := 0.0
			for i := pos; i < end; i++ {
				w := rng.NormFloat64()
				x[i] = amp * (w - 0.9*prev) // high-passed
				prev = w
			}
			pos = end
			continue
		}
		v := vowels[rng.IntN(len(vowels))]
		f0 := pitch
		glide := 0.0
		phase := 0.0
		for i := pos; i < end; i++ {
			frac := float64(i-pos) / float64(seg)
			f := f0 + glide*frac
			phase += 2 * math.Pi * f / 16000
			env := math.Sin(math.Pi * frac) // fade in and out
			var s float64
			for h := 1; float64(h)*f < 4000; h++ {
				hf := float64(h) * f
				var a float64
				for k, F := range v {
					bw := 80.0 + 40*float64(k)
					a += 1 / (1 + ((hf-F)/bw)*((hf-F)/bw)) / float64(k+1)
				}
				s += a * math.Sin(float64(h)*phase)
			}
			x[i] = env * s
		}
		pos = end
	}
	var mean, sq float64
	for i, v := range x {
		v += 0.01 * rng.NormFloat64()
		x[i] = v
		mean += v
	}
	mean /= float64(n)
	for _, v := range x {
		sq += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(sq/float64(n)) + 1e-5
	out := make([]float32, n)
	for i, v := range x {
		out[i] = float32((v - mean) / sd)
	}
	return out
}

// synthBatch returns a batch of B crops of L samples at a data position.
func synthBatch(rng *rand.Rand, B, L, epoch, position int) *dataset.Batch {
	b := &dataset.Batch{Epoch: epoch, Position: position, B: B, T: L, Audio: make([]float32, 0, B*L)}
	for range B {
		b.Audio = append(b.Audio, synthUtterance(rng, L)...)
		b.Lengths = append(b.Lengths, L)
	}
	return b
}

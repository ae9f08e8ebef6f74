package audio

import "math"

// normEps is added to the variance before dividing, as the wav2vec 2.0
// feature extractors do (Hugging Face uses 1e-7): a constant signal becomes
// all zeros instead of NaN, and near-silence is not blown up to full scale.
const normEps = 1e-7

// Normalize shifts and scales x in place to zero mean and unit variance:
// x = (x - mean) / sqrt(var + 1e-7), with mean and variance over the whole
// slice, computed in float64. The variance comes out within 0.1% of 1 for
// a signal whose RMS is above -40 dBFS, within 1% above -50 dBFS; a
// constant signal becomes zeros. An empty slice is left alone.
func Normalize(x []float32) {
	if len(x) == 0 {
		return
	}
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+normEps)
	for i, v := range x {
		x[i] = float32((float64(v) - mean) * inv)
	}
}

package features

import (
	"fmt"
	"math"
)

// MelScale converts a frequency in Hz to Kaldi's mel scale, 1127 ln(1 + f/700).
func MelScale(hz float64) float64 { return 1127 * math.Log(1+hz/700) }

// InverseMelScale converts a mel value back to Hz.
func InverseMelScale(mel float64) float64 { return 700 * (math.Exp(mel/1127) - 1) }

// melFilter is one triangular filter stored sparsely: weights for the power
// spectrum bins start, start+1, ...
type melFilter struct {
	start   int
	weights []float64
}

// VTLNWarpFreq is Kaldi's piecewise-linear VTLN warp (VtlnWarpFreq in
// mel-computations.cc): inside [low, high] Hz it maps freq to freq/warp
// between the cut-offs l = lowCut*max(1, warp) and h = highCut*min(1, warp),
// and linearly from low to l/warp and from h/warp to high outside them, so
// low and high stay fixed. Frequencies outside [low, high] are returned as
// they are.
func VTLNWarpFreq(lowCut, highCut, low, high, warp, freq float64) float64 {
	if freq < low || freq > high {
		return freq
	}
	l := lowCut * max(1, warp)
	h := highCut * min(1, warp)
	scale := 1 / warp
	switch {
	case freq < l:
		return low + (scale*l-low)/(l-low)*(freq-low)
	case freq < h:
		return scale * freq
	default:
		return high + (high-scale*h)/(high-h)*(freq-high)
	}
}

// newMelBank builds numBins triangular filters over the power-spectrum bins
// 0..nfft/2-1 (Kaldi gives the Nyquist bin no weight). The filters' edges are
// equally spaced in mel between low and high Hz; filter m rises from edge m to
// edge m+1 and falls to edge m+2. With a warp other than 1 each edge is moved
// by VTLNWarpFreq, as Kaldi's MelBanks does. A filter that covers no FFT bin
// is an error: too many bins for the frequency resolution.
func newMelBank(numBins, nfft, sampleRate int, low, high, warp float64) ([]melFilter, error) {
	binWidth := float64(sampleRate) / float64(nfft)
	melLow, melHigh := MelScale(low), MelScale(high)
	delta := (melHigh - melLow) / float64(numBins+1)
	nyquist := 0.5 * float64(sampleRate)
	warpMel := func(mel float64) float64 {
		if warp == 1 {
			return mel
		}
		return MelScale(VTLNWarpFreq(VTLNLowHz, nyquist-VTLNHighHz, low, high, warp, InverseMelScale(mel)))
	}
	bank := make([]melFilter, numBins)
	for m := range bank {
		left := melLow + float64(m)*delta
		center := warpMel(left + delta)
		right := warpMel(left + 2*delta)
		left = warpMel(left)
		f := melFilter{start: -1}
		for k := 0; k < nfft/2; k++ {
			mel := MelScale(binWidth * float64(k))
			w := math.Min((mel-left)/(center-left), (right-mel)/(right-center))
			if w <= 0 {
				if f.start >= 0 {
					break // past the filter's right edge
				}
				continue
			}
			if f.start < 0 {
				f.start = k
			}
			f.weights = append(f.weights, w)
		}
		if f.start < 0 {
			return nil, fmt.Errorf("features: mel bin %d (%.1f-%.1f Hz) covers no FFT bin of width %.2f Hz: use fewer mel bins or a larger NFFT",
				m, InverseMelScale(left), InverseMelScale(right), binWidth)
		}
		bank[m] = f
	}
	return bank, nil
}

// applyLog writes ln(max(sum_k w_k p_k, eps)) for each filter into dst.
func applyLog(dst []float64, bank []melFilter, power []float64) {
	for m, f := range bank {
		var s float64
		p := power[f.start : f.start+len(f.weights)]
		for i, w := range f.weights {
			s += w * p[i]
		}
		dst[m] = math.Log(math.Max(s, logFloor))
	}
}

// logFloor is float32's machine epsilon, Kaldi's floor before the log.
const logFloor = 1.1920928955078125e-07

// newDCT returns the numCeps x numMels matrix (row-major) of Kaldi's MFCC
// transform: an orthonormal DCT-II, row i = sqrt(2/M) cos(pi i (j+0.5) / M),
// row 0 = sqrt(1/M), each row scaled by the lifter 1 + L/2 sin(pi i / L)
// (no liftering when L is 0).
func newDCT(numCeps, numMels int, lifter float64) []float64 {
	d := make([]float64, numCeps*numMels)
	M := float64(numMels)
	for i := range numCeps {
		scale := math.Sqrt(2 / M)
		if i == 0 {
			scale = math.Sqrt(1 / M)
		}
		if lifter != 0 {
			scale *= 1 + 0.5*lifter*math.Sin(math.Pi*float64(i)/lifter)
		}
		for j := range numMels {
			d[i*numMels+j] = scale * math.Cos(math.Pi*float64(i)*(float64(j)+0.5)/M)
		}
	}
	return d
}

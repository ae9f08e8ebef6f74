package features

import (
	"errors"
	"fmt"
	"math"
)

// Config sets up an Extractor. The zero value means the defaults listed on
// each field: 80 log-mel bins and 13 MFCCs from 23 mel bins on 16 kHz audio,
// 25 ms windows every 10 ms.
type Config struct {
	SampleRate  int // Hz; 0 means 16000
	NumMels     int // mel bins of LogMel; 0 means 80
	FrameLength int // window length in samples; 0 means 25 ms at SampleRate (400)
	FrameShift  int // hop in samples; 0 means 10 ms at SampleRate (160)
	NFFT        int // FFT size, even, >= FrameLength; 0 means the next power of two (512)

	// LowFreq is the lower edge of the first mel filter in Hz: 0 means 20 Hz,
	// a negative value means 0 Hz.
	LowFreq float64
	// HighFreq is the upper edge of the last mel filter in Hz: 0 means the
	// Nyquist frequency, a negative value is an offset below it (as in Kaldi).
	HighFreq float64
	// PreEmphasis is the pre-emphasis coefficient: 0 means 0.97, a negative
	// value turns pre-emphasis off.
	PreEmphasis float64

	NumCeps  int // cepstra of MFCC, including C0; 0 means 13
	MFCCMels int // mel bins the MFCCs are computed from; 0 means 23
	// CepstralLifter is Kaldi's lifter constant L: 0 means 22, a negative
	// value turns liftering off.
	CepstralLifter float64

	// VTLNWarp is Kaldi's vtln-warp factor: the mel filters' edges move as
	// if the speaker's vocal tract were VTLNWarp times as long (a factor
	// above 1 moves spectral content down), by Kaldi's piecewise-linear warp
	// between VTLNLowHz and VTLNHighHz below the Nyquist frequency. 0 means
	// 1, no warp. Training uses random factors near 1 as augmentation
	// (vocal tract length perturbation, Jaitly and Hinton 2013).
	VTLNWarp float64
}

// Kaldi's default cut-offs of the VTLN warp: vtln-low 100 Hz, vtln-high
// -500 Hz (500 Hz below the Nyquist frequency).
const (
	VTLNLowHz  = 100
	VTLNHighHz = 500
)

// withDefaults returns c with every zero field replaced by its default and
// the "off" encodings (negative values) resolved.
func (c Config) withDefaults() Config {
	if c.SampleRate == 0 {
		c.SampleRate = 16000
	}
	if c.NumMels == 0 {
		c.NumMels = 80
	}
	if c.FrameLength == 0 {
		c.FrameLength = c.SampleRate * 25 / 1000
	}
	if c.FrameShift == 0 {
		c.FrameShift = c.SampleRate * 10 / 1000
	}
	if c.NFFT == 0 {
		c.NFFT = nextPow2(c.FrameLength)
	}
	switch {
	case c.LowFreq == 0:
		c.LowFreq = 20
	case c.LowFreq < 0:
		c.LowFreq = 0
	}
	if c.HighFreq <= 0 {
		c.HighFreq += 0.5 * float64(c.SampleRate)
	}
	switch {
	case c.PreEmphasis == 0:
		c.PreEmphasis = 0.97
	case c.PreEmphasis < 0:
		c.PreEmphasis = 0
	}
	if c.NumCeps == 0 {
		c.NumCeps = 13
	}
	if c.MFCCMels == 0 {
		c.MFCCMels = 23
	}
	if c.VTLNWarp == 0 {
		c.VTLNWarp = 1
	}
	switch {
	case c.CepstralLifter == 0:
		c.CepstralLifter = 22
	case c.CepstralLifter < 0:
		c.CepstralLifter = 0
	}
	return c
}

// Validate reports every problem with c (after defaults are applied) at once.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("features: "+format, args...))
	}
	if d.SampleRate < 0 {
		bad("SampleRate %d is negative", d.SampleRate)
	}
	if d.NumMels < 0 || (d.NumMels > 0 && d.NumMels <= 3) {
		bad("NumMels %d: need at least 4 mel bins", d.NumMels)
	}
	if d.MFCCMels < 0 || (d.MFCCMels > 0 && d.MFCCMels <= 3) {
		bad("MFCCMels %d: need at least 4 mel bins", d.MFCCMels)
	}
	if d.NFFT > 0 && (d.NumMels > d.NFFT || d.MFCCMels > d.NFFT) {
		bad("NumMels %d or MFCCMels %d: more mel bins than FFT points (%d)", d.NumMels, d.MFCCMels, d.NFFT)
	}
	if d.FrameLength < 2 {
		bad("FrameLength %d: need at least 2 samples", d.FrameLength)
	}
	if d.FrameShift < 1 {
		bad("FrameShift %d: need at least 1 sample", d.FrameShift)
	}
	if d.NFFT < d.FrameLength || d.NFFT%2 != 0 || d.NFFT > maxNFFT {
		bad("NFFT %d: must be even, at least FrameLength %d and at most %d", d.NFFT, d.FrameLength, maxNFFT)
	}
	nyquist := 0.5 * float64(d.SampleRate)
	if math.IsNaN(d.LowFreq) || math.IsNaN(d.HighFreq) || d.LowFreq >= nyquist || d.HighFreq <= 0 ||
		d.HighFreq > nyquist || d.LowFreq >= d.HighFreq {
		bad("mel range LowFreq %g Hz to HighFreq %g Hz: need 0 <= low < high <= Nyquist (%g Hz)",
			d.LowFreq, d.HighFreq, nyquist)
	}
	if math.IsNaN(d.PreEmphasis) || d.PreEmphasis > 1 {
		bad("PreEmphasis %g: must be in [0, 1]", d.PreEmphasis)
	}
	if d.NumCeps < 1 || d.NumCeps > d.MFCCMels {
		bad("NumCeps %d: must be between 1 and MFCCMels (%d)", d.NumCeps, d.MFCCMels)
	}
	if math.IsNaN(d.CepstralLifter) {
		bad("CepstralLifter is NaN")
	}
	if !(d.VTLNWarp >= 0.5 && d.VTLNWarp <= 2) {
		bad("VTLNWarp %g: must be in [0.5, 2]", d.VTLNWarp)
	} else if d.VTLNWarp != 1 && !(VTLNLowHz*max(1, d.VTLNWarp) > d.LowFreq && nyquist-VTLNHighHz < d.HighFreq &&
		VTLNLowHz*max(1, d.VTLNWarp) < (nyquist-VTLNHighHz)*min(1, d.VTLNWarp)) {
		bad("VTLNWarp %g: its cut-offs (%d Hz, %g Hz) must lie inside the mel range %g-%g Hz",
			d.VTLNWarp, VTLNLowHz, nyquist-VTLNHighHz, d.LowFreq, d.HighFreq)
	}
	return errors.Join(errs...)
}

// maxNFFT bounds the FFT size (and so the frame length) to keep a mistaken
// configuration from allocating without limit.
const maxNFFT = 1 << 20

// nextPow2 returns the smallest power of two >= n (1 for n <= 1).
func nextPow2(n int) int {
	p := 1
	for p < n && p > 0 {
		p <<= 1
	}
	return p
}

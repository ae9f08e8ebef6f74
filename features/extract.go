package features

import (
	"math"
	"sync"

	"github.com/mjibson/go-dsp/fft"
)

// Extractor computes log-mel and MFCC features with one Config. It is safe
// for concurrent use: its tables are read-only after New and every call takes
// its own scratch buffers.
type Extractor struct {
	cfg     Config      // with defaults applied
	window  []float64   // Hann window, FrameLength
	mel     []melFilter // NumMels filters for LogMel
	mfccMel []melFilter // MFCCMels filters for MFCC
	dct     []float64   // NumCeps x MFCCMels, liftered
	scratch sync.Pool   // *scratch
}

// scratch holds one call's working buffers.
type scratch struct {
	frames [2][]float64 // two windowed frames, FrameLength each
	z      []complex128 // NFFT: frames[0] + i frames[1]
	power  [2][]float64 // NFFT/2+1 each
	logMel []float64    // max(NumMels, MFCCMels)
}

// New validates cfg and precomputes the window, the filterbanks and the DCT.
func New(cfg Config) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	mel, err := newMelBank(c.NumMels, c.NFFT, c.SampleRate, c.LowFreq, c.HighFreq, c.VTLNWarp)
	if err != nil {
		return nil, err
	}
	mfccMel, err := newMelBank(c.MFCCMels, c.NFFT, c.SampleRate, c.LowFreq, c.HighFreq, c.VTLNWarp)
	if err != nil {
		return nil, err
	}
	e := &Extractor{
		cfg:     c,
		window:  hannWindow(c.FrameLength),
		mel:     mel,
		mfccMel: mfccMel,
		dct:     newDCT(c.NumCeps, c.MFCCMels, c.CepstralLifter),
	}
	e.scratch.New = func() any {
		s := &scratch{
			z:      make([]complex128, c.NFFT),
			logMel: make([]float64, max(c.NumMels, c.MFCCMels)),
		}
		for i := range 2 {
			s.frames[i] = make([]float64, c.FrameLength)
			s.power[i] = make([]float64, c.NFFT/2+1)
		}
		return s
	}
	return e, nil
}

// hannWindow returns Kaldi's "hanning" window: 0.5 - 0.5 cos(2 pi i / (n-1)).
func hannWindow(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
	}
	return w
}

// Config returns the extractor's configuration with every default filled in.
func (e *Extractor) Config() Config { return e.cfg }

// Dim returns the width of a LogMel row: NumMels.
func (e *Extractor) Dim() int { return e.cfg.NumMels }

// NumCeps returns the width of an MFCC row.
func (e *Extractor) NumCeps() int { return e.cfg.NumCeps }

// NumFrames returns how many feature frames n samples give: only frames that
// fit whole, 1 + (n-FrameLength)/FrameShift, or 0 when n < FrameLength.
func (e *Extractor) NumFrames(n int) int {
	if n < e.cfg.FrameLength {
		return 0
	}
	return 1 + (n-e.cfg.FrameLength)/e.cfg.FrameShift
}

// LogMel returns the log-mel filterbank energies of samples, row-major
// [frames, NumMels]. Too short an input gives no frames and a nil slice. The
// samples may be at any scale (Kaldi feeds int16 values, the audio package
// gives [-1, 1]); the scale only shifts every value by 2 ln(scale). A NaN
// or Inf in a frame makes that frame's values NaN.
func (e *Extractor) LogMel(samples []float32) (feats []float32, frames int) {
	frames = e.NumFrames(len(samples))
	if frames == 0 {
		return nil, 0
	}
	d := e.cfg.NumMels
	feats = make([]float32, frames*d)
	e.spectra(samples, frames, func(t int, power []float64, s *scratch) {
		applyLog(s.logMel[:d], e.mel, power)
		row := feats[t*d : (t+1)*d]
		for i, v := range s.logMel[:d] {
			row[i] = float32(v)
		}
	})
	return feats, frames
}

// MFCC returns Kaldi-style MFCCs of samples, row-major [frames, NumCeps]. Too
// short an input gives no frames and a nil slice.
func (e *Extractor) MFCC(samples []float32) (feats []float32, frames int) {
	frames = e.NumFrames(len(samples))
	if frames == 0 {
		return nil, 0
	}
	nc, nm := e.cfg.NumCeps, e.cfg.MFCCMels
	feats = make([]float32, frames*nc)
	e.spectra(samples, frames, func(t int, power []float64, s *scratch) {
		lm := s.logMel[:nm]
		applyLog(lm, e.mfccMel, power)
		row := feats[t*nc : (t+1)*nc]
		for i := range row {
			var c float64
			for j, v := range lm {
				c += e.dct[i*nm+j] * v
			}
			row[i] = float32(c)
		}
	})
	return feats, frames
}

// spectra computes the power spectrum (NFFT/2+1 bins) of each of the frames
// of samples and hands it to emit in order. Frames go through the FFT in
// pairs, one as the real and one as the imaginary part.
func (e *Extractor) spectra(samples []float32, frames int, emit func(t int, power []float64, s *scratch)) {
	s := e.scratch.Get().(*scratch)
	defer e.scratch.Put(s)
	for t := 0; t < frames; t += 2 {
		pair := min(2, frames-t)
		var energy [2]float64
		for j := range pair {
			energy[j] = e.prepareFrame(s.frames[j], samples[(t+j)*e.cfg.FrameShift:])
		}
		e.pairSpectra(s, pair, energy)
		for j := range pair {
			emit(t+j, s.power[j], s)
		}
	}
}

// prepareFrame fills dst (FrameLength) from the start of src: mean removed,
// pre-emphasised, windowed. It returns the frame's energy afterwards.
func (e *Extractor) prepareFrame(dst []float64, src []float32) float64 {
	var mean float64
	for i := range dst {
		dst[i] = float64(src[i])
		mean += dst[i]
	}
	mean /= float64(len(dst))
	for i := range dst {
		dst[i] -= mean
	}
	if p := e.cfg.PreEmphasis; p != 0 {
		for i := len(dst) - 1; i > 0; i-- {
			dst[i] -= p * dst[i-1]
		}
		dst[0] -= p * dst[0]
	}
	var energy float64
	for i, w := range e.window {
		dst[i] *= w
		energy += dst[i] * dst[i]
	}
	return energy
}

// pairSpectra transforms s.frames[0] and, when pair is 2, s.frames[1] with
// one complex FFT and writes their power spectra into s.power. With
// z = a + i b and Z its transform, A[k] = (Z[k] + conj Z[N-k]) / 2 and
// B[k] = (Z[k] - conj Z[N-k]) / 2i. A frame of zero energy gets an exact zero
// spectrum rather than the other frame's rounding noise, and a frame holding
// NaN or Inf is transformed alone so that it cannot spoil its partner.
func (e *Extractor) pairSpectra(s *scratch, pair int, energy [2]float64) {
	n := e.cfg.NFFT
	a, b := s.frames[0], s.frames[1]
	if pair == 2 && (isNonFinite(energy[0]) || isNonFinite(energy[1])) {
		e.singleSpectrum(s, a, s.power[0])
		e.singleSpectrum(s, b, s.power[1])
		return
	}
	if pair < 2 {
		energy[1] = 0
	}
	for i := range s.z {
		var re, im float64
		if i < len(a) {
			re = a[i]
			if energy[1] != 0 {
				im = b[i]
			}
		}
		s.z[i] = complex(re, im)
	}
	var Z []complex128
	if energy[0] != 0 || energy[1] != 0 {
		Z = fft.FFT(s.z)
	}
	for k := 0; k <= n/2; k++ {
		var pa, pb float64
		if Z != nil {
			zk, zc := Z[k], Z[(n-k)%n]
			ar, ai := 0.5*(real(zk)+real(zc)), 0.5*(imag(zk)-imag(zc))
			br, bi := 0.5*(imag(zk)+imag(zc)), 0.5*(real(zc)-real(zk))
			pa, pb = ar*ar+ai*ai, br*br+bi*bi
		}
		if energy[0] == 0 {
			pa = 0
		}
		s.power[0][k], s.power[1][k] = pa, pb
	}
}

// singleSpectrum writes the power spectrum of the real frame x into power.
func (e *Extractor) singleSpectrum(s *scratch, x, power []float64) {
	for i := range s.z {
		var re float64
		if i < len(x) {
			re = x[i]
		}
		s.z[i] = complex(re, 0)
	}
	Z := fft.FFT(s.z)
	for k := range power {
		power[k] = real(Z[k])*real(Z[k]) + imag(Z[k])*imag(Z[k])
	}
}

func isNonFinite(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

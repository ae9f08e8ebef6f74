package features

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{"zero value", Config{}, nil},
		{"8 kHz 40 mels", Config{SampleRate: 8000, NumMels: 40}, nil},
		{"odd NFFT", Config{FrameLength: 400, NFFT: 401}, []string{"NFFT 401"}},
		{"NFFT below frame", Config{NFFT: 256}, []string{"NFFT 256"}},
		{"too few mels", Config{NumMels: 3}, []string{"NumMels 3"}},
		{"more mels than FFT points", Config{NumMels: 600}, []string{"more mel bins than FFT points"}},
		{"high above Nyquist", Config{HighFreq: 9000}, []string{"HighFreq 9000"}},
		{"low above high", Config{LowFreq: 5000, HighFreq: 4000}, []string{"LowFreq 5000"}},
		{"too many ceps", Config{NumCeps: 30}, []string{"NumCeps 30"}},
		{"pre-emphasis above 1", Config{PreEmphasis: 1.5}, []string{"PreEmphasis 1.5"}},
		{"vtln warp", Config{VTLNWarp: 1.1}, nil},
		{"vtln warp too large", Config{VTLNWarp: 3}, []string{"VTLNWarp 3"}},
		{"vtln cut-off outside the mel range", Config{VTLNWarp: 1.1, LowFreq: 200}, []string{"cut-offs"}},
		{"several at once", Config{FrameShift: -1, NumMels: 2, NumCeps: 40},
			[]string{"FrameShift -1", "NumMels 2", "NumCeps 40"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := New(tc.cfg); err != nil {
					t.Fatalf("New() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "features: ") {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if _, err := New(tc.cfg); err == nil {
				t.Errorf("New() accepted an invalid config")
			}
		})
	}
}

func TestVTLNWarpFreq(t *testing.T) {
	// Hand-derived for warp 1.1 on 20-8000 Hz with cut-offs 100 and 7500 Hz:
	// l = 110, h = 7500, frequencies between move to f/1.1, and the two
	// outer pieces join them to the fixed ends.
	for _, tc := range []struct{ warp, f, want float64 }{
		{1.1, 1000, 1000 / 1.1},
		{1.1, 110, 100},
		{1.1, 20, 20},
		{1.1, 65, 20 + 45*80/90.0},
		{1.1, 7500, 7500 / 1.1},
		{1.1, 7750, 8000 - 250*(8000-7500/1.1)/500},
		{1.1, 8000, 8000},
		{1.1, 10, 10}, // outside the range: unchanged
		{0.9, 1000, 1000 / 0.9},
		{0.9, 7000, 8000 - 1000*(8000-6750/0.9)/1250}, // h = 7500*0.9
		{1, 4321, 4321},
	} {
		if got := VTLNWarpFreq(100, 7500, 20, 8000, tc.warp, tc.f); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("VTLNWarpFreq(warp %g, %g Hz) = %.6f, want %.6f", tc.warp, tc.f, got, tc.want)
		}
	}
	// A warp above 1 moves a tone's peak to a higher mel bin, and the log-mel
	// of an unwarped extractor is the one with VTLNWarp 1.
	x := make([]float32, 4000)
	for i := range x {
		x[i] = float32(math.Sin(2 * math.Pi * 1000 * float64(i) / 16000))
	}
	peak := func(warp float64) int {
		feats, frames := mustNew(t, Config{VTLNWarp: warp}).LogMel(x)
		row := feats[(frames/2)*80 : (frames/2+1)*80]
		best := 0
		for k := range row {
			if row[k] > row[best] {
				best = k
			}
		}
		return best
	}
	if p0, p1, p2 := peak(0.9), peak(1), peak(1.1); !(p0 < p1 && p1 < p2) {
		t.Errorf("1 kHz peak at mel bins %d, %d, %d for warps 0.9, 1, 1.1: want increasing", p0, p1, p2)
	}
	a, _ := mustNew(t, Config{}).LogMel(x)
	b, _ := mustNew(t, Config{VTLNWarp: 1}).LogMel(x)
	if !slices.Equal(a, b) {
		t.Error("VTLNWarp 1 changed the features")
	}
}

func TestTooManyMelBins(t *testing.T) {
	// 100 bins on a 128-point FFT at 16 kHz leaves the lowest filters empty.
	_, err := New(Config{NumMels: 100, FrameLength: 128, FrameShift: 64})
	if err == nil || !strings.Contains(err.Error(), "covers no FFT bin") {
		t.Fatalf("New() = %v, want an empty-filter error", err)
	}
}

func TestNumFrames(t *testing.T) {
	e := mustNew(t, Config{})
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 0}, {399, 0}, {400, 1}, {559, 1}, {560, 2}, {16000, 98}, {16160, 99},
	} {
		if got := e.NumFrames(tc.n); got != tc.want {
			t.Errorf("NumFrames(%d) = %d, want %d", tc.n, got, tc.want)
		}
		feats, frames := e.LogMel(make([]float32, tc.n))
		if frames != tc.want || len(feats) != tc.want*e.Dim() {
			t.Errorf("LogMel(%d samples) gave %d frames, %d values; want %d frames", tc.n, frames, len(feats), tc.want)
		}
		feats, frames = e.MFCC(make([]float32, tc.n))
		if frames != tc.want || len(feats) != tc.want*e.NumCeps() {
			t.Errorf("MFCC(%d samples) gave %d frames, %d values; want %d frames", tc.n, frames, len(feats), tc.want)
		}
	}
}

// spectraOf runs the extractor's FFT path and returns each frame's power
// spectrum together with the frame it transformed.
func spectraOf(e *Extractor, x []float32) (frames, power [][]float64) {
	e.spectra(x, e.NumFrames(len(x)), func(t int, p []float64, s *scratch) {
		power = append(power, append([]float64(nil), p...))
		frames = append(frames, append([]float64(nil), s.frames[t%2]...))
	})
	return frames, power
}

func TestPowerSpectrumParsevalAndDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cfg := range []Config{{}, {FrameLength: 400, NFFT: 400}, {SampleRate: 8000, NumMels: 40}} {
		e := mustNew(t, cfg)
		n := e.cfg.NFFT
		x := make([]float32, e.cfg.FrameLength+e.cfg.FrameShift*6) // 7 frames: three pairs and one alone
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		frames, power := spectraOf(e, x)
		if len(power) != 7 {
			t.Fatalf("got %d spectra, want 7", len(power))
		}
		for f, p := range power {
			// Parseval: sum over all N bins of |X|^2 = N sum x^2.
			var time float64
			for _, v := range frames[f] {
				time += v * v
			}
			freq := p[0] + p[n/2]
			for k := 1; k < n/2; k++ {
				freq += 2 * p[k]
			}
			if rel := math.Abs(freq-float64(n)*time) / (float64(n) * time); rel > 1e-12 {
				t.Errorf("NFFT %d frame %d: Parseval off by %.3g relative", n, f, rel)
			}
			// Against a direct DFT of the same frame.
			for k := 0; k <= n/2; k++ {
				var X complex128
				for i, v := range frames[f] {
					X += complex(v, 0) * cmplx.Rect(1, -2*math.Pi*float64(k*i%n)/float64(n))
				}
				want := real(X)*real(X) + imag(X)*imag(X)
				if math.Abs(p[k]-want) > 1e-9*(1+want) {
					t.Fatalf("NFFT %d frame %d bin %d: power %g, direct DFT %g", n, f, k, p[k], want)
				}
			}
		}
	}
}

func TestTonePeak(t *testing.T) {
	// A sine at FFT bin k0 through a Hann window, no pre-emphasis: over a
	// whole number of periods the mean is zero, so the peak power is
	// (A/2 * sum w)^2 up to the tiny leakage of the mirror image, and the
	// strongest mel filter is the one centred on the tone.
	for _, k0 := range []int{16, 32, 96, 200} { // 500, 1000, 3000, 6250 Hz
		e := mustNew(t, Config{PreEmphasis: -1})
		f := float64(k0) * 16000 / 512
		const amp = 0.5
		x := make([]float32, 16000)
		for i := range x {
			x[i] = float32(amp * math.Sin(2*math.Pi*f*float64(i)/16000))
		}
		_, power := spectraOf(e, x)
		var sumW float64
		for _, w := range hannWindow(400) {
			sumW += w
		}
		want := math.Pow(amp/2*sumW, 2)
		if f*400/16000 == math.Trunc(f*400/16000) { // whole periods in the frame
			if rel := math.Abs(power[0][k0]-want) / want; rel > 1e-3 {
				t.Errorf("%g Hz: peak power %g, want %g (rel %.2g)", f, power[0][k0], want, rel)
			}
		}
		for fr, p := range power {
			if got := argmax(p); got != k0 {
				t.Fatalf("%g Hz frame %d: spectral peak at bin %d, want %d", f, fr, got, k0)
			}
		}
		// The mel filter whose centre is nearest the tone in mel.
		c := e.cfg
		lo, hi := MelScale(c.LowFreq), MelScale(c.HighFreq)
		delta := (hi - lo) / float64(c.NumMels+1)
		wantBin := int(math.Round((MelScale(f)-lo)/delta)) - 1
		feats, frames := e.LogMel(x)
		for fr := range frames {
			row := feats[fr*c.NumMels : (fr+1)*c.NumMels]
			if got := argmax32(row); got != wantBin {
				t.Fatalf("%g Hz frame %d: loudest mel bin %d, want %d", f, fr, got, wantBin)
			}
		}
	}
}

func TestSilence(t *testing.T) {
	// Silence and a constant (pure DC, removed per frame) give ln(eps) in
	// every log-mel bin; the MFCCs of a constant log-mel vector v are
	// C0 = sqrt(M) v and zero elsewhere.
	e := mustNew(t, Config{})
	logEps := math.Log(1.1920928955078125e-07)
	for _, level := range []float32{0, 0.25, -3} {
		x := make([]float32, 2000)
		for i := range x {
			x[i] = level
		}
		feats, _ := e.LogMel(x)
		for i, v := range feats {
			if v != float32(logEps) {
				t.Fatalf("level %g: LogMel[%d] = %g, want %g", level, i, v, logEps)
			}
		}
		mfcc, frames := e.MFCC(x)
		for fr := range frames {
			for i, v := range mfcc[fr*13 : (fr+1)*13] {
				want := 0.0
				if i == 0 {
					want = math.Sqrt(23) * logEps
				}
				if math.Abs(float64(v)-want) > 1e-5 {
					t.Fatalf("level %g frame %d: C%d = %g, want %g", level, fr, i, v, want)
				}
			}
		}
	}
}

func TestSilentFrameBesideLoudOne(t *testing.T) {
	// Frames 0 and 1 share an FFT. Frame 0 is digital silence, frame 1 is
	// loud (int16 scale): frame 0 must still be exactly ln(eps), and frame 1
	// must equal the same samples transformed on their own.
	e := mustNew(t, Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 560)
	for i := 400; i < len(x); i++ {
		x[i] = float32(30000 * rng.NormFloat64())
	}
	feats, frames := e.LogMel(x)
	if frames != 2 {
		t.Fatalf("frames = %d, want 2", frames)
	}
	for i, v := range feats[:80] {
		if v != float32(math.Log(1.1920928955078125e-07)) {
			t.Fatalf("silent frame bin %d = %g, want ln(eps)", i, v)
		}
	}
	alone, _ := e.LogMel(x[160:])
	for i := range alone {
		if alone[i] != feats[80+i] {
			t.Fatalf("loud frame bin %d: %g in a pair, %g alone", i, feats[80+i], alone[i])
		}
	}
}

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cfgs := []Config{
		{},
		{SampleRate: 8000, NumMels: 40, NumCeps: 20, MFCCMels: 30},
		{FrameLength: 400, NFFT: 400, LowFreq: -1, HighFreq: -400, PreEmphasis: -1, CepstralLifter: -1},
		{NumMels: 64, LowFreq: 60, HighFreq: 7600, PreEmphasis: 0.5, CepstralLifter: 10, FrameShift: 100},
		{VTLNWarp: 1.1},
		{VTLNWarp: 0.9, NumMels: 40, HighFreq: -200},
	}
	for ci, cfg := range cfgs {
		e := mustNew(t, cfg)
		for _, n := range []int{e.cfg.FrameLength, 1234, 3210} {
			x := make([]float32, n)
			for i := range x { // speech-like: a few tones plus noise
				ti := float64(i) / float64(e.cfg.SampleRate)
				x[i] = float32(0.3*math.Sin(2*math.Pi*220*ti) + 0.1*math.Sin(2*math.Pi*1870*ti) + 0.05*rng.NormFloat64())
			}
			wantMel, wantCeps := referenceFeatures(e.cfg, x)
			gotMel, frames := e.LogMel(x)
			if frames*e.cfg.NumMels != len(wantMel) {
				t.Fatalf("config %d, %d samples: %d frames, reference has %d values", ci, n, frames, len(wantMel))
			}
			for i := range gotMel {
				if d := math.Abs(float64(gotMel[i]) - wantMel[i]); d > 2e-5*(1+math.Abs(wantMel[i])) {
					t.Fatalf("config %d, %d samples: LogMel[%d] = %g, reference %g", ci, n, i, gotMel[i], wantMel[i])
				}
			}
			gotCeps, _ := e.MFCC(x)
			for i := range gotCeps {
				if d := math.Abs(float64(gotCeps[i]) - wantCeps[i]); d > 2e-5*(1+math.Abs(wantCeps[i])) {
					t.Fatalf("config %d, %d samples: MFCC[%d] = %g, reference %g", ci, n, i, gotCeps[i], wantCeps[i])
				}
			}
		}
	}
}

// referenceFeatures is a slow, direct transcription of Kaldi's fbank and mfcc
// for c (defaults already applied): dense filters, a direct DFT, explicit
// loops.
// kaldiVtlnWarpFreq transcribes MelBanks::VtlnWarpFreq of Kaldi's
// mel-computations.cc, with its own conventions (a non-positive
// vtlnHighCutoff is an offset from the Nyquist frequency).
func kaldiVtlnWarpFreq(vtlnLowCutoff, vtlnHighCutoff, lowFreq, highFreq, vtlnWarpFactor, freq float64, sampleRate int) float64 {
	if vtlnHighCutoff <= 0 {
		vtlnHighCutoff += 0.5 * float64(sampleRate)
	}
	if freq < lowFreq || freq > highFreq {
		return freq
	}
	one := 1.0
	l := vtlnLowCutoff * math.Max(one, vtlnWarpFactor)
	h := vtlnHighCutoff * math.Min(one, vtlnWarpFactor)
	scale := 1.0 / vtlnWarpFactor
	Fl := scale * l
	Fh := scale * h
	if freq < l {
		scaleLeft := (Fl - lowFreq) / (l - lowFreq)
		return lowFreq + scaleLeft*(freq-lowFreq)
	} else if freq < h {
		return scale * freq
	}
	scaleRight := (highFreq - Fh) / (highFreq - h)
	return highFreq + scaleRight*(freq-highFreq)
}

func referenceFeatures(c Config, x []float32) (logMel, ceps []float64) {
	L, N := c.FrameLength, c.NFFT
	fbank := func(numBins int, frame []float64) []float64 {
		// Power spectrum, bins 0..N/2-1 (Kaldi drops the Nyquist bin).
		p := make([]float64, N/2)
		for k := range p {
			var re, im float64
			for i, v := range frame {
				a := 2 * math.Pi * float64(k) * float64(i) / float64(N)
				re += v * math.Cos(a)
				im -= v * math.Sin(a)
			}
			p[k] = re*re + im*im
		}
		mel := func(f float64) float64 { return 1127 * math.Log(1+f/700) }
		lo, hi := mel(c.LowFreq), mel(c.HighFreq)
		d := (hi - lo) / float64(numBins+1)
		edge := func(i int) float64 { // Kaldi's VtlnWarpMelFreq of edge i
			return mel(kaldiVtlnWarpFreq(100, -500, c.LowFreq, c.HighFreq, c.VTLNWarp,
				700*(math.Exp((lo+float64(i)*d)/1127)-1), c.SampleRate))
		}
		out := make([]float64, numBins)
		for m := range out {
			left, center, right := edge(m), edge(m+1), edge(m+2)
			var s float64
			for k := range p {
				fm := mel(float64(k) * float64(c.SampleRate) / float64(N))
				up := (fm - left) / (center - left)
				down := (right - fm) / (right - center)
				s += math.Max(0, math.Min(up, down)) * p[k]
			}
			out[m] = math.Log(math.Max(s, 1.1920928955078125e-07))
		}
		return out
	}
	for start := 0; start+L <= len(x); start += c.FrameShift {
		raw := make([]float64, L)
		var mean float64
		for i := range raw {
			raw[i] = float64(x[start+i])
			mean += raw[i] / float64(L)
		}
		frame := make([]float64, L)
		for i := range frame {
			prev := raw[max(i-1, 0)] - mean
			frame[i] = (raw[i] - mean) - c.PreEmphasis*prev
			frame[i] *= 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(L-1))
		}
		logMel = append(logMel, fbank(c.NumMels, frame)...)
		lm := fbank(c.MFCCMels, frame)
		M := float64(c.MFCCMels)
		for i := range c.NumCeps {
			var s float64
			for j, v := range lm {
				w := math.Sqrt(2/M) * math.Cos(math.Pi/M*(float64(j)+0.5)*float64(i))
				if i == 0 {
					w = math.Sqrt(1 / M)
				}
				s += w * v
			}
			if c.CepstralLifter != 0 {
				s *= 1 + c.CepstralLifter/2*math.Sin(math.Pi*float64(i)/c.CepstralLifter)
			}
			ceps = append(ceps, s)
		}
	}
	return logMel, ceps
}

func TestPrefixConsistency(t *testing.T) {
	// Frames do not depend on how they were paired: the features of a prefix
	// are the first rows of the features of the whole.
	e := mustNew(t, Config{})
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, 4000)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	full, _ := e.LogMel(x)
	for _, n := range []int{400, 560, 720, 1999, 3001} {
		part, frames := e.LogMel(x[:n])
		for i := range frames * 80 {
			if part[i] != full[i] {
				t.Fatalf("prefix %d: value %d = %g, whole signal gives %g", n, i, part[i], full[i])
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	e := mustNew(t, Config{})
	rng := rand.New(rand.NewPCG(9, 10))
	inputs := make([][]float32, 8)
	want := make([][]float32, len(inputs))
	for i := range inputs {
		inputs[i] = make([]float32, 2000+300*i)
		for j := range inputs[i] {
			inputs[i][j] = float32(rng.NormFloat64())
		}
		want[i], _ = e.MFCC(inputs[i])
	}
	var wg sync.WaitGroup
	got := make([][]float32, len(inputs))
	for i := range inputs {
		wg.Go(func() { got[i], _ = e.MFCC(inputs[i]) })
	}
	wg.Wait()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("input %d value %d: %g concurrently, %g alone", i, j, got[i][j], want[i][j])
			}
		}
	}
}

func BenchmarkLogMel(b *testing.B) {
	e, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	x := make([]float32, 10*16000) // 10 s
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for b.Loop() {
		e.LogMel(x)
	}
	b.ReportMetric(10*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
}

func mustNew(t *testing.T, cfg Config) *Extractor {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func argmax32(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func TestNonFiniteInput(t *testing.T) {
	// NaN and Inf never panic; they stay within the frames that hold them.
	e := mustNew(t, Config{})
	x := make([]float32, 1200)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	x[1100] = float32(math.NaN())
	feats, frames := e.LogMel(x)
	for fr := range frames {
		hasNaN := math.IsNaN(float64(feats[fr*80]))
		if inFrame := fr*160+400 > 1100; hasNaN != inFrame {
			t.Errorf("frame %d: NaN %v, want %v", fr, hasNaN, inFrame)
		}
	}
}

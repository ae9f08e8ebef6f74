package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tone returns n samples of amp*sin(2*pi*f*t + phase) at rate, computed in float64.
func tone(n, rate int, f, amp, phase float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)+phase))
	}
	return x
}

// middle drops the first and last quarter, where the filter sees the zeros
// outside the signal.
func middle(x []float32) []float32 { return x[len(x)/4 : len(x)-len(x)/4] }

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// Stop band. Any tone at or above the output's Nyquist frequency (8 kHz),
// up to the input's, must come out at least minStopBand dB down: nothing
// aliases into the 16 kHz signal. Measured with tones every 10 Hz from
// 8.0 to 8.5 kHz (where the worst side lobes are) and 61 more up to the
// input's Nyquist frequency, on the common rates and on 44101 Hz
// (interpolated phases). The filter is designed for 95 dB; the worst
// measured is 95.0 dB, at 8010-8020 Hz (printed with -v). The bound is 1 dB
// under that, for float32 rounding on other machines.
const minStopBand = 94.0

func TestResampleStopBand(t *testing.T) {
	for _, from := range []int{48000, 44100, 22050, 32000, 44101, 96001} {
		worst, worstF := math.Inf(1), 0.0
		nyq := float64(from) / 2
		var freqs []float64
		for f := 8000.0; f < 8500; f += 10 { // the worst side lobes are near the edge
			freqs = append(freqs, f)
		}
		for f := 8500.0; f < nyq; f += (nyq - 8500) / 61 {
			freqs = append(freqs, f)
		}
		for _, f := range freqs {
			x := tone(from/2, from, f, 1, 0.3)
			y := middle(Resample(x, from, SampleRate))
			atten := -20 * math.Log10(rms(y)/(1/math.Sqrt2))
			if atten < worst {
				worst, worstF = atten, f
			}
		}
		t.Logf("%d Hz -> 16 kHz: stop band at least %.1f dB down (worst at %.0f Hz)", from, worst, worstF)
		if worst < minStopBand {
			t.Errorf("%d Hz -> 16 kHz: a %.0f Hz tone is only %.1f dB down, want >= %.0f", from, worstF, worst, minStopBand)
		}
	}
}

// Upsampling: the images above the input's Nyquist frequency must be
// rejected just as well.
func TestResampleImages(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{8000, 16000}, {11025, 16000}} {
		worst := math.Inf(1)
		for f := 50.0; f < 0.9*float64(tc.from)/2; f += 97 {
			y := middle(Resample(tone(tc.from/2, tc.from, f, 1, 0.1), tc.from, tc.to))
			// Remove the tone itself by least squares; what is left is images.
			r := residual(y, tc.to, f)
			worst = min(worst, -20*math.Log10(rms(r)/(1/math.Sqrt2)))
		}
		t.Logf("%d -> %d Hz: images and errors at least %.1f dB down", tc.from, tc.to, worst)
		if worst < minStopBand {
			t.Errorf("%d -> %d Hz: images only %.1f dB down, want >= %.0f", tc.from, tc.to, worst, minStopBand)
		}
	}
}

// Pass band: tones up to 0.9 of the output's (or input's) Nyquist frequency
// keep their amplitude within maxRipple dB.
const maxRipple = 0.001 // dB

func TestResamplePassBand(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{48000, 16000}, {44100, 16000}, {22050, 16000}, {8000, 16000}, {44101, 16000}, {16000, 44100}} {
		lower := float64(min(tc.from, tc.to))
		worst := 0.0
		for f := 20.0; f <= 0.9*lower/2; f += 0.9 * lower / 2 / 40 {
			y := middle(Resample(tone(tc.from/2, tc.from, f, 0.5, 0.7), tc.from, tc.to))
			a := amplitude(y, tc.to, f)
			worst = max(worst, math.Abs(20*math.Log10(a/0.5)))
		}
		t.Logf("%d -> %d Hz: pass-band ripple %.2g dB", tc.from, tc.to, worst)
		if worst > maxRipple {
			t.Errorf("%d -> %d Hz: pass-band ripple %.3g dB, want <= %g", tc.from, tc.to, worst, maxRipple)
		}
	}
}

// amplitude fits a*sin + b*cos at f by least squares and returns hypot(a, b).
func amplitude(y []float32, rate int, f float64) float64 {
	a, b := fitSine(y, rate, f)
	return math.Hypot(a, b)
}

func fitSine(y []float32, rate int, f float64) (float64, float64) {
	var ss, cc, sc, ys, yc float64
	for i, v := range y {
		w := 2 * math.Pi * f * float64(i) / float64(rate)
		s, c := math.Sincos(w)
		ss += s * s
		cc += c * c
		sc += s * c
		ys += float64(v) * s
		yc += float64(v) * c
	}
	det := ss*cc - sc*sc
	return (ys*cc - yc*sc) / det, (yc*ss - ys*sc) / det
}

func residual(y []float32, rate int, f float64) []float32 {
	a, b := fitSine(y, rate, f)
	r := make([]float32, len(y))
	for i, v := range y {
		s, c := math.Sincos(2 * math.Pi * f * float64(i) / float64(rate))
		r[i] = float32(float64(v) - a*s - b*c)
	}
	return r
}

// The output is on the same time axis as the input: a tone resampled
// equals the tone synthesised at the new rate (no delay, no gain error).
func TestResampleAlignment(t *testing.T) {
	for _, from := range []int{8000, 22050, 44100, 48000, 44101} {
		x := tone(from, from, 1234.5, 0.5, 0.2)
		y := Resample(x, from, SampleRate)
		if want := (len(x)*SampleRate + from - 1) / from; len(y) != want {
			t.Errorf("%d Hz: %d samples out, want %d", from, len(y), want)
		}
		want := tone(len(y), SampleRate, 1234.5, 0.5, 0.2)
		worst := 0.0
		for i := range middle(y) {
			worst = max(worst, math.Abs(float64(middle(y)[i]-middle(want)[i])))
		}
		t.Logf("%d Hz: max error against the synthesised tone %.2g", from, worst)
		if worst > 2e-5 {
			t.Errorf("%d Hz: max error %.3g against the tone synthesised at 16 kHz, want <= 2e-5", from, worst)
		}
	}
}

func TestResampleSameRate(t *testing.T) {
	x := []float32{0.1, -0.2, 0.3}
	y := Resample(x, 16000, 16000)
	y[0] = 9
	if x[0] != 0.1 || len(y) != 3 {
		t.Error("Resample with from == to must return a copy")
	}
	if got := Resample(nil, 44100, 16000); len(got) != 0 {
		t.Errorf("Resample(nil) gave %d samples", len(got))
	}
}

// TestResampleChunked: pushing the input in random pieces gives exactly the
// one-shot result (the state carries across calls).
func TestResampleChunked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 30000)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.1)
	}
	for _, from := range []int{44100, 8000, 44101} {
		want := Resample(x, from, SampleRate)
		rs := newResampler(from, SampleRate)
		var got []float32
		for rest := x; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3000))
			rs.push(rest[:n])
			rest = rest[n:]
			got = append(got, rs.drain()...)
		}
		rs.flush()
		got = append(got, rs.drain()...)
		if !equal(got, want) {
			t.Errorf("%d Hz: chunked output (%d samples) differs from one-shot (%d)", from, len(got), len(want))
		}
	}
}

func BenchmarkResample(b *testing.B) {
	for _, from := range []int{44100, 48000, 8000} {
		b.Run(itoa(from), func(b *testing.B) {
			x := tone(10*from, from, 440, 0.5, 0) // 10 s
			Resample(x[:100], from, SampleRate)   // build the filter outside the timing
			for b.Loop() {
				Resample(x, from, SampleRate)
			}
			b.ReportMetric(10*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

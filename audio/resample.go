package audio

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"
)

// The resampler is a Kaiser-windowed sinc, polyphase. Its design:
//
//   - pass band up to 0.9 of the lower Nyquist frequency (7.2 kHz for any
//     rate down to 16 kHz), stop band from the lower Nyquist frequency on,
//     so no tone above 8 kHz in the input aliases into the 16 kHz output;
//   - a Kaiser window designed for designAtten dB: 95.0 dB measured at
//     the worst stop-band frequency (TestResampleStopBand), pass-band
//     ripple about 0.00013 dB (TestResamplePassBand);
//   - every phase is normalised to unit DC gain.
//
// For a ratio to/from = L/M in lowest terms there are L phases, tabulated
// when the table stays under maxExactTaps coefficients. Otherwise (an odd
// rate such as 44101 Hz, or a very high one) the kernel is tabulated at
// rows+1 evenly spaced fractional delays and interpolated linearly between
// them. rows grows with the cut-off (1024 rows at the full band), which
// keeps the interpolation error near -120 dB and the table near 128k
// coefficients whatever the rates; TestResampleStopBand covers this path.
const (
	designAtten  = 95.0 // dB
	passFraction = 0.9  // pass band edge / lower Nyquist
	fullRows     = 1024
	maxExactTaps = 1 << 18
)

// bank is the filter for one pair of rates. It is read-only once built.
type bank struct {
	L, M   int64
	half   int       // taps on each side: taps = 2*half
	rows   int       // phases tabulated
	exact  bool      // rows == L: row p is phase p
	coeffs []float32 // rows (+1 when interpolated) x taps
}

// Filters are cached by rate pair, a bounded number of them: a stream of
// files at ever new odd rates must not grow memory without end.
const maxCachedBanks = 32

var (
	banksMu sync.Mutex
	banks   = map[[2]int]*bank{}
)

func getBank(from, to int) *bank {
	key := [2]int{from, to}
	banksMu.Lock()
	b := banks[key]
	banksMu.Unlock()
	if b != nil {
		return b
	}
	b = newBank(from, to)
	banksMu.Lock()
	if len(banks) < maxCachedBanks {
		banks[key] = b
	}
	banksMu.Unlock()
	return b
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newBank(from, to int) *bank {
	g := gcd(from, to)
	b := &bank{L: int64(to / g), M: int64(from / g)}
	lower := float64(min(from, to))
	fc := (1 + passFraction) / 2 * lower / float64(from) // cut-off over input Nyquist, centre of transition
	width := 2 * math.Pi * (1 - passFraction) / 2 * lower / float64(from)
	n := (designAtten - 7.95) / (2.285 * width) // Kaiser's length estimate, in input samples
	b.half = int(math.Ceil(n/2)) + 1
	b.half += b.half & 1 // taps a multiple of 4: every row 16-byte aligned, see dot
	beta := 0.1102 * (designAtten - 8.7)
	taps := 2 * b.half
	b.rows, b.exact = int(b.L), true
	if b.L*int64(taps) > maxExactTaps {
		b.rows, b.exact = max(16, int(math.Ceil(fullRows*fc))), false
	}
	nrows := b.rows
	if !b.exact {
		nrows++ // the row for a delay of exactly 1, to interpolate towards
	}
	b.coeffs = make([]float32, nrows*taps)
	i0beta := besselI0(beta)
	row := make([]float64, taps)
	for r := 0; r < nrows; r++ {
		frac := float64(r) / float64(b.rows) // output time minus the input index i0, in input samples
		sum := 0.0
		for j := range row {
			x := float64(j-b.half+1) - frac // input offset from the output's time
			t := x / float64(b.half)
			w := 0.0
			if t > -1 && t < 1 {
				w = besselI0(beta*math.Sqrt(1-t*t)) / i0beta
			}
			row[j] = fc * sinc(fc*x) * w
			sum += row[j]
		}
		for j, v := range row {
			b.coeffs[r*taps+j] = float32(v / sum)
		}
	}
	return b
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 500; k++ {
		term *= (x / 2) / float64(k)
		t2 := term * term
		sum += t2
		if t2 < sum*1e-17 {
			break
		}
	}
	return sum
}

// resampler carries a bank's state across blocks of input.
type resampler struct {
	b     *bank
	taps  int
	buf   []float32 // input history; buf[0] is input index base
	base  int64
	nIn   int64 // input samples pushed
	k     int64 // next output index
	final bool  // flushed: inputs past nIn are zero
	out   []float32
	tmp   []float32 // interpolated filter row
}

func newResampler(from, to int) *resampler {
	b := getBank(from, to)
	rs := &resampler{b: b, taps: 2 * b.half, base: -int64(b.half)}
	rs.buf = make([]float32, b.half, 4*b.half+4096) // zeros before the first input
	rs.tmp = make([]float32, rs.taps)
	return rs
}

func (rs *resampler) push(x []float32) {
	rs.buf = append(rs.buf, x...)
	rs.nIn += int64(len(x))
}

// flush marks the end of the input: the outputs still owed are computed
// with zeros after the last input.
func (rs *resampler) flush() {
	rs.final = true
	rs.buf = append(rs.buf, make([]float32, rs.b.half+1)...)
}

// drain returns every output sample computable from the input so far. The
// slice is valid until the next call.
func (rs *resampler) drain() []float32 {
	b := rs.b
	half := int64(b.half)
	rs.out = rs.out[:0]
	total := int64(-1)
	if rs.final {
		total = (rs.nIn*b.L + b.M - 1) / b.M // ceil(nIn * to / from)
	}
	for {
		if rs.final && rs.k >= total {
			break
		}
		t := rs.k * b.M
		i0, p := t/b.L, t%b.L
		if !rs.final && i0+half >= rs.nIn {
			break
		}
		start := i0 - half + 1 - rs.base
		x := rs.buf[start : start+int64(rs.taps)]
		rs.out = append(rs.out, dot(rs.row(p), x))
		rs.k++
	}
	// Drop the history no output needs any more.
	need := (rs.k*b.M)/b.L - half + 1 - rs.base
	if need > 4096 && need > int64(len(rs.buf))/2 {
		n := copy(rs.buf, rs.buf[need:])
		rs.buf = rs.buf[:n]
		rs.base += need
	}
	return rs.out
}

// row returns the filter for phase p (of L).
func (rs *resampler) row(p int64) []float32 {
	b := rs.b
	if b.exact {
		return b.coeffs[p*int64(rs.taps) : (p+1)*int64(rs.taps)]
	}
	pos := float64(p) * float64(b.rows) / float64(b.L)
	r := int(pos)
	f := float32(pos - float64(r))
	lo := b.coeffs[r*rs.taps : (r+1)*rs.taps]
	hi := b.coeffs[(r+1)*rs.taps : (r+2)*rs.taps]
	for j := range rs.tmp {
		rs.tmp[j] = lo[j] + f*(hi[j]-lo[j])
	}
	return rs.tmp
}

// dot is the filter's inner product, through gonum's assembly kernel
// (about 3 times faster than a Go loop on amd64). The kernel's order of
// summation depends on the alignment of its second argument, so that is
// the filter row (always at the same address), never the moving input
// window: the result must not depend on how the input was chunked.
func dot(h, x []float32) float32 {
	n := len(h)
	return blas32.Dot(blas32.Vector{N: n, Inc: 1, Data: x[:n]}, blas32.Vector{N: n, Inc: 1, Data: h})
}

// Resample converts src from rate from to rate to (in Hz) with a
// band-limited polyphase filter (Kaiser-windowed sinc, pass band to 0.9 of
// the lower Nyquist frequency, stop band 95 dB down from the lower
// Nyquist frequency on, pass-band ripple about 0.0001 dB). The output has ceil(len(src)*to/from) samples;
// output sample k is at time k/to, the same instant as input k*from/to (no
// delay). When from == to it returns a copy. The filter has about
// 120*max(1, from/to) taps; its table is built once per rate pair and
// cached. Resample panics if from or to is not positive: that is a
// programming error.
func Resample(src []float32, from, to int) []float32 {
	if from <= 0 || to <= 0 {
		panic("audio: Resample: sample rates must be positive")
	}
	if from == to {
		return append([]float32(nil), src...)
	}
	rs := newResampler(from, to)
	rs.push(src)
	rs.flush()
	return append([]float32(nil), rs.drain()...)
}

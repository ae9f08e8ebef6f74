package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestConvShapeTout(t *testing.T) {
	cases := []struct {
		s    ConvShape
		want int
	}{
		{ConvShape{Tin: 10, K: 3}, 8},
		{ConvShape{Tin: 10, K: 3, PadLeft: 1, PadRight: 1}, 10},
		{ConvShape{Tin: 1600, K: 3, Stride: 2, PadLeft: 1, PadRight: 1}, 800},
		{ConvShape{Tin: 16000, K: 10, Stride: 5}, 3199},
		{ConvShape{Tin: 10, K: 3, Dilation: 4, PadLeft: 8}, 10},
		{ConvShape{Tin: 3, K: 3}, 1},
		{ConvShape{Tin: 2, K: 3}, 0},
		{ConvShape{Tin: 7, K: 1, Stride: 3}, 3},
	}
	for _, tc := range cases {
		if got := tc.s.Tout(); got != tc.want {
			t.Errorf("%+v: Tout() = %d, want %d", tc.s, got, tc.want)
		}
	}
	s := ConvShape{B: 2, Cin: 3, Cout: 4, Tin: 10, K: 3}
	if got, want := s.FLOPs(), 2.0*2*4*3*3*8; got != want {
		t.Errorf("FLOPs() = %v, want %v", got, want)
	}
}

// TestConv1d64HandExample checks the float64 reference on values worked out by hand.
func TestConv1d64HandExample(t *testing.T) {
	s := ConvShape{B: 1, Cin: 1, Cout: 1, Tin: 4, K: 3, Stride: 1, PadLeft: 1, PadRight: 1}
	x := []float64{1, 2, 3, 4}
	w := []float64{1, 0, -1}
	y := make([]float64, 4)
	Conv1dForward64(s, y, x, w, []float64{0.5})
	// y[t] = x[t-1] - x[t+1] + 0.5
	if want := []float64{-1.5, -1.5, -1.5, 3.5}; !equal64(y, want) {
		t.Errorf("forward: got %v, want %v", y, want)
	}
	dy := []float64{1, 0, 0, 2}
	dx := []float64{10, 10, 10, 10}
	Conv1dBackwardData64(s, dx, dy, w)
	// dx[i] += dy[i+1] - dy[i-1]
	if want := []float64{10, 9, 12, 10}; !equal64(dx, want) {
		t.Errorf("backward data: got %v, want %v", dx, want)
	}
	dw := []float64{1, 1, 1}
	db := []float64{1}
	Conv1dBackwardWeight64(s, dw, db, x, dy)
	// dw[k] += sum_t dy[t] x[t+k-1]
	if want := []float64{1 + 0 + 2*3, 1 + 1 + 2*4, 1 + 2 + 0}; !equal64(dw, want) || db[0] != 4 {
		t.Errorf("backward weight: got %v %v, want %v [4]", dw, db, want)
	}
}

func equal64(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func randFloat64s(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestConv1d64Adjoint checks that the float64 backward passes are the
// adjoints of the forward pass: <conv(x, w), dy> = <x, dx> = <w, dw>.
func TestConv1d64Adjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range convCases() {
		x := randFloat64s(rng, s.B*s.Cin*s.Tin)
		w := randFloat64s(rng, s.Cout*s.Cin*s.K)
		dy := randFloat64s(rng, s.B*s.Cout*s.Tout())
		y := make([]float64, len(dy))
		Conv1dForward64(s, y, x, w, nil)
		dx := make([]float64, len(x))
		Conv1dBackwardData64(s, dx, dy, w)
		dw := make([]float64, len(w))
		db := make([]float64, s.Cout)
		Conv1dBackwardWeight64(s, dw, db, x, dy)
		ref := dot64(y, dy)
		tol := 1e-10 * (1 + math.Abs(ref)) * float64(len(x)+len(w))
		if got := dot64(x, dx); math.Abs(got-ref) > tol {
			t.Errorf("%+v: <x, dx> = %v, <y, dy> = %v", s, got, ref)
		}
		if got := dot64(w, dw); math.Abs(got-ref) > tol {
			t.Errorf("%+v: <w, dw> = %v, <y, dy> = %v", s, got, ref)
		}
		var sum float64
		for _, v := range dy {
			sum += v
		}
		var dbSum float64
		for _, v := range db {
			dbSum += v
		}
		if math.Abs(dbSum-sum) > 1e-9*(1+math.Abs(sum)) {
			t.Errorf("%+v: sum(dbias) = %v, sum(dy) = %v", s, dbSum, sum)
		}
	}
}

// convCases are the shapes checked: strides, dilations, causal, centred and
// asymmetric padding, pointwise, Tout = 1, odd batch sizes.
func convCases() []ConvShape {
	return []ConvShape{
		{B: 1, Cin: 1, Cout: 1, Tin: 1, K: 1},
		{B: 2, Cin: 2, Cout: 3, Tin: 0, K: 2, PadLeft: 1, PadRight: 1},             // all padding
		{B: 2, Cin: 3, Cout: 5, Tin: 17, K: 1},                                     // pointwise: plain GEMM
		{B: 3, Cin: 4, Cout: 7, Tin: 20, K: 1, Stride: 3},                          // strided K = 1
		{B: 2, Cin: 5, Cout: 6, Tin: 9, K: 1, PadLeft: 2, PadRight: 1},             // padded K = 1
		{B: 1, Cin: 3, Cout: 4, Tin: 3, K: 3},                                      // Tout = 1
		{B: 5, Cin: 2, Cout: 3, Tin: 10, K: 10, Stride: 5},                         // Tout = 1, K = Tin
		{B: 3, Cin: 7, Cout: 9, Tin: 50, K: 3, Stride: 1, PadLeft: 1, PadRight: 1}, // centred
		{B: 2, Cin: 8, Cout: 13, Tin: 41, K: 4, Dilation: 3, PadLeft: 9},           // causal
		{B: 4, Cin: 6, Cout: 5, Tin: 33, K: 5, Stride: 2, Dilation: 2, PadLeft: 3, PadRight: 1},
		{B: 2, Cin: 1, Cout: 16, Tin: 400, K: 10, Stride: 5},                         // first encoder layer
		{B: 3, Cin: 17, Cout: 19, Tin: 31, K: 4, Stride: 2},                          // even kernel, strided
		{B: 2, Cin: 5, Cout: 3, Tin: 6, K: 2, Stride: 4, PadLeft: 0, PadRight: 5},    // padding past the input
		{B: 1, Cin: 4, Cout: 4, Tin: 5, K: 3, Dilation: 5, PadLeft: 10, PadRight: 0}, // taps mostly in padding
		{B: 2, Cin: 32, Cout: 40, Tin: 120, K: 3, Stride: 2, PadLeft: 1, PadRight: 1},
		// Cin*K = 301 and Tout = 348 cross the GEMM's k blocking mid-channel.
		{B: 3, Cin: 43, Cout: 20, Tin: 700, K: 7, Stride: 2, Dilation: 2, PadLeft: 5, PadRight: 2},
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func abs64(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Abs(v)
	}
	return y
}

// closeTo checks got against want element by element; scale is the
// matching sum of |terms| and n the number of terms per element.
func closeTo(t *testing.T, what string, got []float32, want, scale []float64, n int) {
	t.Helper()
	for i := range want {
		tol := 2*float64(n+2)*0x1p-24*scale[i] + 1e-30
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			t.Fatalf("%s[%d] = %v, want %v (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

// TestConv1dMatchesReference checks the float32 im2col + GEMM kernels
// against the float64 loops, with every micro-kernel and several
// goroutine counts (so that the batch split and its remainder both run).
func TestConv1dMatchesReference(t *testing.T) {
	for _, kern := range allKernels {
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("kernel=%v/procs=%d", kern, procs), func(t *testing.T) {
				withKernel(t, kern)
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				rng := rand.New(rand.NewPCG(21, uint64(procs)))
				for _, s := range convCases() {
					checkConv(t, rng, s)
				}
			})
		}
	}
}

func checkConv(t *testing.T, rng *rand.Rand, s ConvShape) {
	t.Helper()
	tout := s.Tout()
	x := to64(to32(randFloat64s(rng, s.B*s.Cin*s.Tin)))
	w := to64(to32(randFloat64s(rng, s.Cout*s.Cin*s.K)))
	bias := to64(to32(randFloat64s(rng, s.Cout)))
	dy := to64(to32(randFloat64s(rng, s.B*s.Cout*tout)))
	dx0 := to64(to32(randFloat64s(rng, len(x))))
	dw0 := to64(to32(randFloat64s(rng, len(w))))
	db0 := to64(to32(randFloat64s(rng, s.Cout)))
	name := fmt.Sprintf("%+v", s)

	// Forward, with and without bias; y starts as garbage it must overwrite.
	for _, withBias := range []bool{true, false} {
		want := make([]float64, len(dy))
		scale := make([]float64, len(dy))
		var b64, b32 []float64
		if withBias {
			b64, b32 = bias, abs64(bias)
		}
		Conv1dForward64(s, want, x, w, b64)
		Conv1dForward64(s, scale, abs64(x), abs64(w), b32)
		got := to32(randFloat64s(rng, len(dy)))
		var bias32 []float32
		if withBias {
			bias32 = to32(bias)
		}
		Conv1dForward(s, got, to32(x), to32(w), bias32)
		closeTo(t, name+" y", got, want, scale, s.Cin*s.K)
	}

	// Backward data accumulates onto dx0.
	want := append([]float64(nil), dx0...)
	scale := abs64(dx0)
	Conv1dBackwardData64(s, want, dy, w)
	Conv1dBackwardData64(s, scale, abs64(dy), abs64(w))
	got := to32(dx0)
	Conv1dBackwardData(s, got, to32(dy), to32(w))
	closeTo(t, name+" dx", got, want, scale, s.Cout*s.K)

	// Backward weight accumulates onto dw0 and db0; also with nil dbias.
	wantW, wantB := append([]float64(nil), dw0...), append([]float64(nil), db0...)
	scaleW, scaleB := abs64(dw0), abs64(db0)
	Conv1dBackwardWeight64(s, wantW, wantB, x, dy)
	Conv1dBackwardWeight64(s, scaleW, scaleB, abs64(x), abs64(dy))
	gotW, gotB := to32(dw0), to32(db0)
	Conv1dBackwardWeight(s, gotW, gotB, to32(x), to32(dy))
	closeTo(t, name+" dw", gotW, wantW, scaleW, s.B*tout)
	closeTo(t, name+" dbias", gotB, wantB, scaleB, s.B*tout)
	gotW = to32(dw0)
	Conv1dBackwardWeight(s, gotW, nil, to32(x), to32(dy))
	closeTo(t, name+" dw (nil dbias)", gotW, wantW, scaleW, s.B*tout)
}

// TestConv1dRandomShapes draws many small random shapes.
func TestConv1dRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 200; trial++ {
		s := ConvShape{
			B: 1 + rng.IntN(4), Cin: 1 + rng.IntN(9), Cout: 1 + rng.IntN(20),
			Tin: 1 + rng.IntN(40), K: 1 + rng.IntN(6), Stride: rng.IntN(4), Dilation: rng.IntN(4),
			PadLeft: rng.IntN(6), PadRight: rng.IntN(6),
		}
		if s.Tout() < 1 {
			continue
		}
		checkConv(t, rng, s)
	}
}

func TestConv1dPanicsOnBadShape(t *testing.T) {
	ok := ConvShape{B: 1, Cin: 2, Cout: 3, Tin: 5, K: 3}
	f32 := func(n int) []float32 { return make([]float32, n) }
	cases := []struct {
		name string
		f    func()
	}{
		{"no output frames", func() {
			s := ok
			s.Tin = 2
			Conv1dForward(s, f32(100), f32(100), f32(100), nil)
		}},
		{"zero kernel", func() {
			s := ok
			s.K = 0
			Conv1dForward(s, f32(100), f32(100), f32(100), nil)
		}},
		{"negative padding", func() {
			s := ok
			s.PadLeft = -1
			Conv1dBackwardData(s, f32(100), f32(100), f32(100))
		}},
		{"short x", func() { Conv1dForward(ok, f32(9), f32(9), f32(18), nil) }},
		{"short w", func() { Conv1dBackwardData(ok, f32(10), f32(9), f32(17)) }},
		{"short dy", func() { Conv1dBackwardWeight(ok, f32(18), nil, f32(10), f32(8)) }},
		{"short bias", func() { Conv1dForward(ok, f32(9), f32(10), f32(18), f32(2)) }},
		{"short dbias", func() { Conv1dBackwardWeight(ok, f32(18), f32(2), f32(10), f32(9)) }},
		{"short x64", func() { Conv1dForward64(ok, make([]float64, 9), make([]float64, 9), make([]float64, 18), nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}

package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGELUVector checks gelu32 and geluGrad32 (the AVX2 kernels where the
// CPU has them) bit for bit against the Go loops, on values around every
// branch's edges, special values, and random ones.
func TestGELUVector(t *testing.T) {
	x := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-8, -1e-8,
		float32(geluSmall), -float32(geluSmall), math.Nextafter32(float32(geluSmall), 0), math.Nextafter32(-float32(geluSmall), 0),
		float32(geluHi), float32(geluLo), math.Nextafter32(float32(geluHi), 0), math.Nextafter32(float32(geluLo), 0),
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e30, -1e30, 3.14159, -2.5, 0.5}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 20000 {
		x = append(x, float32(rng.NormFloat64()*3))
	}
	for k := range 2000 { // every interval of the table, and its ends
		x = append(x, float32((float64(k)-1000)/geluInvH*0.55), float32((float64(k)-1000+0.5)/geluInvH*0.55))
	}
	x = append(x, 1, 2, 3) // a tail past the last multiple of 4
	got := make([]float32, len(x))
	gelu32(got, x)
	want := make([]float32, len(x))
	geluScalar32(want, x)
	bad := 0
	for i := range x {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			if bad++; bad < 10 {
				t.Errorf("gelu(%g) = %g (%#x), Go loop %g (%#x)", x[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ", bad, len(x))
	}
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	dy[0], dy[1] = float32(math.Inf(1)), float32(math.NaN())
	geluGrad32(got, x, dy)
	geluGradScalar32(want, x, dy)
	bad = 0
	for i := range x {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			if bad++; bad < 10 {
				t.Errorf("gelu'(%g) * %g = %g, Go loop %g", x[i], dy[i], got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("gradient: %d of %d values differ", bad, len(x))
	}
}

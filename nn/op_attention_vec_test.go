package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpVector checks softmaxExp32 (kernels.ExpShift's AVX2 where the CPU
// has it) bit for bit against expNonPositive, element by element, and its
// sum against the sum in order: arguments from 0 down past -708, special
// values, and a mask.
func TestExpVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	row := []float32{0, -1e-30, -0.5, -708, -708.5, -707.9, -745, -1000, float32(math.Inf(-1)), float32(math.NaN()), 1e-7}
	for range 5000 {
		row = append(row, float32(-rng.ExpFloat64()*20))
	}
	for k := range 1500 {
		row = append(row, float32(-float64(k)*0.4731))
	}
	row = append(row, -3, -2) // a tail past the last multiple of 4
	mask := make([]float32, len(row))
	for i := range mask {
		if rng.IntN(10) > 0 {
			mask[i] = 1
		}
	}
	for _, mx := range []float64{0, 1e-7, -2.5} {
		for _, m := range [][]float32{nil, mask} {
			got := append([]float32(nil), row...)
			sum := softmaxExp32(got, m, mx)
			var want float64
			bad := 0
			for i, v := range row {
				if m != nil && m[i] == 0 {
					if got[i] != 0 {
						bad++
					}
					continue
				}
				e := expNonPositive(float64(v) - mx)
				want += e
				if w := float32(e); math.Float32bits(got[i]) != math.Float32bits(w) && !(w != w && got[i] != got[i]) {
					if bad++; bad < 5 {
						t.Errorf("mx %g: e^(%g - mx) = %g, expNonPositive %g", mx, v, got[i], w)
					}
				}
			}
			if bad > 0 {
				t.Errorf("mx %g, mask %v: %d values differ", mx, m != nil, bad)
			}
			if math.Float64bits(sum) != math.Float64bits(want) && !(sum != sum && want != want) {
				t.Errorf("mx %g, mask %v: sum %v, in order %v", mx, m != nil, sum, want)
			}
		}
	}
}

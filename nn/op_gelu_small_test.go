package nn

import (
	"math"
	"testing"
)

// TestGELU32Small: the float32 GELU is exact relative to its input near 0
// (0 gives 0), where the table's absolute error would dominate.
func TestGELU32Small(t *testing.T) {
	x := []float32{0, 1e-30, -1e-30, 1e-9, -1e-9, 1e-5, -3e-4, 0.0156, -0.0156, 0.0157, 0.02}
	y := make([]float32, len(x))
	gelu32(y, x)
	for i, v := range x {
		u := float64(v)
		want := 0.5 * u * math.Erfc(-u/math.Sqrt2)
		if math.Abs(float64(y[i])-want) > 1e-6*math.Abs(want) {
			t.Errorf("gelu(%g) = %g, want %g", v, y[i], want)
		}
	}
}

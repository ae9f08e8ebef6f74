package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGELU32Random checks the interpolated float32 path between the knots
// and around the table's ends, on seeded random inputs, to the tolerance of
// TestGELU32; and the non-finite inputs.
func TestGELU32Random(t *testing.T) {
	rng := newTestRNG(7)
	tests := []struct {
		name   string
		lo, hi float64
	}{
		{"core", -4, 4},
		{"table", -9, 9},
		{"low end", geluLo - 1e-3, geluLo + 1e-3},
		{"high end", geluHi - 1e-3, geluHi + 1e-3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs := make([]float32, 50000)
			ones := make([]float32, len(xs))
			for i := range xs {
				xs[i] = float32(tt.lo + (tt.hi-tt.lo)*rng.Float64())
				ones[i] = 1
			}
			y, d := make([]float32, len(xs)), make([]float32, len(xs))
			gelu32(y, xs)
			geluGrad32(d, xs, ones)
			want, wantD := make([]float64, 1), make([]float64, 1)
			bad := 0
			for i, x := range xs {
				u := float64(x)
				geluKernel(want, []float64{u})
				geluGradKernel(wantD, []float64{u}, []float64{1})
				tol := math.Max(1, math.Abs(u))
				if math.Abs(float64(y[i])-want[0]) > 2e-7*tol || math.Abs(float64(d[i])-wantD[0]) > 3e-7*tol {
					if bad++; bad <= 5 {
						t.Errorf("x = %.9g: gelu %.9g gelu' %.9g, want %.9g and %.9g", u, y[i], d[i], want[0], wantD[0])
					}
				}
			}
		})
	}
	nonFinite := []struct{ x, y, d float64 }{
		{math.Inf(1), math.Inf(1), 1},
		{math.Inf(-1), math.NaN(), math.NaN()},
		{math.NaN(), math.NaN(), math.NaN()},
	}
	for _, tt := range nonFinite {
		y, d := make([]float32, 1), make([]float32, 1)
		gelu32(y, []float32{float32(tt.x)})
		geluGrad32(d, []float32{float32(tt.x)}, []float32{1})
		same := func(a float32, b float64) bool { return float64(a) == b || math.IsNaN(float64(a)) && math.IsNaN(b) }
		if !same(y[0], tt.y) || !same(d[0], tt.d) {
			t.Errorf("x = %g: gelu %g gelu' %g, want %g and %g", tt.x, y[0], d[0], tt.y, tt.d)
		}
	}
}

// BenchmarkGELU32: the float32 forward (with AVX2 where the CPU has it, and
// the Go loop) and gradient kernels on one core, in elements per second.
func BenchmarkGELU32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(2 * rng.NormFloat64())
	}
	y, dy := make([]float32, len(x)), make([]float32, len(x))
	copy(dy, x)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			gelu32(y, x)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	})
	b.Run("forward-go", func(b *testing.B) {
		for b.Loop() {
			geluScalar32(y, x)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	})
	b.Run("grad", func(b *testing.B) {
		for b.Loop() {
			geluGrad32(y, x, dy)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	})
}

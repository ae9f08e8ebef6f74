package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestNorm32 checks the float32 norm kernels (forward, input gradient,
// gamma gradient) against the float64 ones on random inputs with an
// offset, to float32 accuracy relative to the largest value.
func TestNorm32(t *testing.T) {
	tests := []struct {
		B, C, T  int
		groups   int
		perFrame bool
	}{
		{2, 4, 9, 1, false},
		{3, 6, 17, 3, false},
		{2, 8, 1000, 1, false},
		{1, 4, 5000, 4, false},
		{2, 4, 9, 0, true},
		{3, 16, 513, 0, true},
		{4, 64, 1200, 0, true},
		{1, 1, 3, 0, true},
	}
	rng := newTestRNG(3)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%dx%d,groups=%d,frame=%t", tt.B, tt.C, tt.T, tt.groups, tt.perFrame), func(t *testing.T) {
			n := tt.B * tt.C * tt.T
			x64, dy64 := make([]float64, n), make([]float64, n)
			g64, b64 := make([]float64, tt.C), make([]float64, tt.C)
			for i := range x64 {
				x64[i] = float64(float32(3 + 2*rng.NormFloat64()))
				dy64[i] = float64(float32(rng.NormFloat64()))
			}
			for i := range g64 {
				g64[i] = float64(float32(1 + 0.3*rng.NormFloat64()))
				b64[i] = float64(float32(rng.NormFloat64()))
			}
			f32 := func(v []float64) []float32 {
				out := make([]float32, len(v))
				for i, e := range v {
					out[i] = float32(e)
				}
				return out
			}
			x32, dy32, g32, b32 := f32(x64), f32(dy64), f32(g64), f32(b64)
			shape := []int{tt.B, tt.C, tt.T}
			k64 := &normOp{groups: tt.groups, perFrame: tt.perFrame, eps: 1e-5}
			k32 := &normOp{groups: tt.groups, perFrame: tt.perFrame, eps: 1e-5}
			compare := func(what string, got []float32, want []float64) {
				var scale, worst float64
				for _, w := range want {
					scale = math.Max(scale, math.Abs(w))
				}
				for i, w := range want {
					worst = math.Max(worst, math.Abs(float64(got[i])-w))
				}
				if worst > 1e-5*scale || math.IsNaN(worst) {
					t.Errorf("%s: largest error %g for values up to %g", what, worst, scale)
				}
			}
			y32 := make([]float32, n)
			y64 := make([]float64, n)
			k32.forward(buf{shape: shape, f32: y32}, []buf{{shape: shape, f32: x32}, {shape: []int{tt.C}, f32: g32}, {shape: []int{tt.C}, f32: b32}})
			k64.forward(buf{shape: shape, f64: y64}, []buf{{shape: shape, f64: x64}, {shape: []int{tt.C}, f64: g64}, {shape: []int{tt.C}, f64: b64}})
			compare("forward", y32, y64)
			dx32, dx64 := make([]float32, n), make([]float64, n)
			(&normGradOp{fwd: k32}).forward(buf{shape: shape, f32: dx32}, []buf{{shape: shape, f32: x32}, {shape: []int{tt.C}, f32: g32}, {shape: shape, f32: dy32}})
			(&normGradOp{fwd: k64}).forward(buf{shape: shape, f64: dx64}, []buf{{shape: shape, f64: x64}, {shape: []int{tt.C}, f64: g64}, {shape: shape, f64: dy64}})
			compare("grad x", dx32, dx64)
			dg32 := make([]float32, tt.C)
			dg64 := make([]float64, tt.C)
			(&normGammaOp{fwd: k32}).forward(buf{shape: []int{tt.C}, f32: dg32}, []buf{{shape: shape, f32: x32}, {shape: shape, f32: dy32}})
			(&normGammaOp{fwd: k64}).forward(buf{shape: []int{tt.C}, f64: dg64}, []buf{{shape: shape, f64: x64}, {shape: shape, f64: dy64}})
			compare("grad gamma", dg32, dg64)
		})
	}
}

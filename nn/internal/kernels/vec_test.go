package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVec checks the vector forms of AddTo, AddSquaredDiff and NormAffine
// bit for bit against their Go loops, at lengths around the vector widths
// and on values that include zeros, infinities and NaN.
func TestVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 3)
			switch rng.IntN(50) {
			case 0:
				v[i] = float32(math.Inf(1))
			case 1:
				v[i] = float32(math.NaN())
			case 2:
				v[i] = 0
			}
		}
		return v
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
				return false
			}
		}
		return true
	}
	for _, vec := range []bool{false, true} {
		if vec && !hasAVX2FMA() {
			continue
		}
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 1000} {
			x, m, r, d := vals(n), vals(n), vals(n), vals(n)
			old := vecAVX2
			vecAVX2 = vec

			got := append([]float32(nil), d...)
			AddTo(got, x)
			want := append([]float32(nil), d...)
			for i := range want {
				want[i] += x[i]
			}
			if !same(got, want) {
				t.Errorf("vec %v, n %d: AddTo differs", vec, n)
			}

			got = append(got[:0], d...)
			AddSquaredDiff(got, x, m)
			want = append(want[:0], d...)
			for i := range want {
				e := x[i] - m[i]
				want[i] += e * e
			}
			if !same(got, want) {
				t.Errorf("vec %v, n %d: AddSquaredDiff differs", vec, n)
			}

			got = make([]float32, n)
			NormAffine(got, x, m, r, 1.5, -0.25)
			want = make([]float32, n)
			for i := range want {
				want[i] = (x[i]-m[i])*r[i]*1.5 + -0.25
			}
			if !same(got, want) {
				t.Errorf("vec %v, n %d: NormAffine differs", vec, n)
			}
			vecAVX2 = old
		}
	}
}

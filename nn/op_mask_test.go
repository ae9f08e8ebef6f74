package nn

import (
	"math/rand/v2"
	"testing"
)

func TestFrameOpsGrad(t *testing.T) {
	tests := []struct{ B, C, T int }{{1, 1, 1}, {2, 3, 5}, {3, 4, 2}}
	for i, tc := range tests {
		rng := rand.New(rand.NewPCG(uint64(i), 21))
		x := randParam(rng, "x", tc.B, tc.C, tc.T)
		m := randParam(rng, "m", tc.B, 1, tc.T)
		vec := randParam(rng, "vec", tc.C)
		checkGrad(t, func(g *Graph) *Node { return g.MaskFrames(g.Param(x), g.Param(m), g.Param(vec)) }, x, m, vec)
		checkGrad(t, func(g *Graph) *Node { return g.MulFrames(g.Param(x), g.Param(m)) }, x, m)
	}
}

func TestFrameOpsValues(t *testing.T) {
	const B, C, T = 2, 3, 4
	g := NewGraph()
	x := g.Input("x", B, C, T)
	m := g.Input("m", B, 1, T)
	vec := NewParam("vec", C)
	copy(vec.Data, []float32{10, 20, 30})
	masked := g.MaskFrames(x, m, g.Param(vec))
	valid := g.MulFrames(x, m)
	p, err := g.Compile(nil, masked, valid)
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float32, B*C*T)
	for i := range xs {
		xs[i] = float32(i + 1)
	}
	ms := []float32{1, 0, 0, 1, 0, 1, 1, 0}
	p.Set(x, xs)
	p.Set(m, ms)
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	mv, vv := p.Value(masked), p.Value(valid)
	for b := range B {
		for c := range C {
			for tt := range T {
				i, on := (b*C+c)*T+tt, ms[b*T+tt] == 1
				wantM, wantV := xs[i], float32(0)
				if on {
					wantM, wantV = vec.Data[c], xs[i]
				}
				if mv[i] != wantM || vv[i] != wantV {
					t.Errorf("[%d,%d,%d] mask %g: MaskFrames %g want %g, MulFrames %g want %g", b, c, tt, ms[b*T+tt], mv[i], wantM, vv[i], wantV)
				}
			}
		}
	}
}

func TestFrameOpsShapeErrors(t *testing.T) {
	g := NewGraph()
	x := g.Input("x", 2, 3, 4)
	m := g.Input("m", 2, 3, 4)
	if g.MulFrames(x, m); g.Err() == nil {
		t.Error("MulFrames accepted a [2 3 4] mask")
	}
	g = NewGraph()
	x = g.Input("x", 2, 3, 4)
	m = g.Input("m", 2, 1, 4)
	if g.MaskFrames(x, m, g.Param(NewParam("v", 4))); g.Err() == nil {
		t.Error("MaskFrames accepted a [4] vector for 3 channels")
	}
}

// TestFrameScaleKeepsAll: a sample whose frames all have factor 1 (mask all
// ones, or all zeros with complement) is copied, the others are scaled.
func TestFrameScaleKeepsAll(t *testing.T) {
	const B, C, T = 2, 3, 5
	x := make([]float32, B*C*T)
	for i := range x {
		x[i] = float32(i) - 7.5
	}
	m := []float32{1, 1, 1, 1, 1, 1, 0, 1, 0.5, 1} // sample 0 keeps all
	for _, complement := range []bool{false, true} {
		mm := append([]float32(nil), m...)
		if complement {
			for i := range mm {
				mm[i] = 1 - mm[i]
			}
		}
		y := make([]float32, len(x))
		frameScaleKernel(y, x, mm, B, C, T, complement)
		for b := range B {
			for c := range C {
				for tt := range T {
					i := (b*C+c)*T + tt
					f := mm[b*T+tt]
					if complement {
						f = 1 - f
					}
					if want := x[i] * f; y[i] != want {
						t.Errorf("complement %v: y[%d,%d,%d] = %g, want %g", complement, b, c, tt, y[i], want)
					}
				}
			}
		}
	}
}

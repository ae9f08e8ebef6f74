package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSmoothL1 checks the values against the definition (PyTorch's
// smooth_l1_loss with reduction none) at both sides of beta, and the
// gradient against finite differences, inside and outside |x| < beta.
func TestSmoothL1(t *testing.T) {
	g := NewGraph()
	x := g.Input("x", 6)
	y := g.SmoothL1(x, 0.5)
	prog, err := g.Compile(nil, y)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	prog.Set(x, []float32{0, 0.25, -0.25, 0.5, -2, 3})
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0.0625, 0.0625, 0.25, 1.75, 2.75} // 0.5 x^2 / 0.5 below 0.5, |x| - 0.25 above
	for i, v := range prog.Value(y) {
		if math.Abs(float64(v)-want[i]) > 1e-6 {
			t.Errorf("smooth_l1(x[%d]) = %g, want %g", i, v, want[i])
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	a := randParam(rng, "a", 2, 3, 7)
	b := randParam(rng, "b", 2, 3, 7)
	for _, beta := range []float64{0.3, 1, 10} {
		checkGrad(t, func(g *Graph) *Node { return g.SmoothL1(g.Sub(g.Param(a), g.Param(b)), beta) }, a, b)
	}
}

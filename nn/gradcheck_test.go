package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// checkGrad checks the gradients of a graph against central finite
// differences, in float64. build adds nodes to a float64 graph and returns
// an output of any shape; the loss is sum(output * R) for a fixed random R
// (or the output itself when it is a scalar). Every param in params (bind
// inputs whose gradient matters as params too, with g.Param) is checked:
// all elements when it has at most 48, else 48 random ones. Their Data is
// the point of evaluation; the graph runs in training mode with a fixed
// dropout seed, so every run draws the same masks. Params that the loss
// does not reach, or frozen ones, must have a zero gradient.
func checkGrad(t *testing.T, build func(g *Graph) *Node, params ...*Param) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	g := newGraph64()
	g.Training = true
	g.Seed = 3
	out := build(g)
	if err := g.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	loss := out
	var r *Node
	if len(out.Shape()) != 0 {
		r = g.Input("checkgrad.weights", out.Shape()...)
		loss = g.Sum(g.Mul(out, r))
	}
	prog, err := g.Compile(loss)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	prog.noSync = true
	prog.fixedRNG = true
	if r != nil {
		w := make([]float64, r.Size())
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		prog.set64(r, w)
	}
	for _, p := range params {
		p.ZeroGrad()
	}
	if err := prog.Run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	grad := map[*Param][]float64{}
	for _, pg := range prog.grads {
		grad[pg.node.param] = append([]float64(nil), pg.grad64...)
	}
	for _, p := range params {
		an := grad[p]
		for i, v := range p.Grad {
			if (an == nil && v != 0) || (an != nil && float32(an[i]) != v) {
				t.Fatalf("%s: Param.Grad[%d] = %g, the run's gradient is %v", p.Name, i, v, an)
			}
		}
	}
	for _, p := range params {
		an := grad[p]
		if an == nil {
			an = make([]float64, p.Size())
		}
		node := g.params[p]
		if node == nil {
			continue // not in the graph: no gradient, checked above
		}
		scale := 1.0
		for _, v := range an {
			scale = math.Max(scale, math.Abs(v))
		}
		idx := make([]int, p.Size())
		for i := range idx {
			idx[i] = i
		}
		if len(idx) > 48 {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:48]
		}
		var runErr error
		for _, i := range idx {
			orig := node.in64[i]
			f := func(x float64) float64 {
				node.in64[i] = x
				if err := prog.Run(); err != nil {
					runErr = err
				}
				return prog.Loss()
			}
			num := fd.Derivative(f, orig, &fd.Settings{Formula: fd.Central, Step: 1e-6})
			node.in64[i] = orig
			if runErr != nil {
				t.Fatalf("run: %v", runErr)
			}
			if d := math.Abs(num - an[i]); d > 1e-6*scale || math.IsNaN(an[i]) {
				t.Errorf("%s[%d]: gradient %.10g, finite differences %.10g (diff %.3g, scale %.3g)", p.Name, i, an[i], num, d, scale)
			}
		}
	}
}

// randParam returns a param of the given shape with N(0, 1) values.
func randParam(rng *rand.Rand, name string, shape ...int) *Param {
	p := NewParam(name, shape...)
	for i := range p.Data {
		p.Data[i] = float32(rng.NormFloat64())
	}
	return p
}

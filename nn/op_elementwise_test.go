package nn

import (
	"math/rand/v2"
	"testing"
)

func TestElementwiseGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randParam(rng, "a", 2, 3, 5)
	b := randParam(rng, "b", 2, 3, 5)
	v := randParam(rng, "v", 3)
	tests := []struct {
		name  string
		build func(g *Graph) *Node
	}{
		{"add", func(g *Graph) *Node { return g.Add(g.Param(a), g.Param(b)) }},
		{"sub", func(g *Graph) *Node { return g.Sub(g.Param(a), g.Param(b)) }},
		{"mul", func(g *Graph) *Node { return g.Mul(g.Param(a), g.Param(b)) }},
		{"mul self", func(g *Graph) *Node { return g.Mul(g.Param(a), g.Param(a)) }},
		{"scale", func(g *Graph) *Node { return g.Scale(g.Param(a), -0.75) }},
		{"square", func(g *Graph) *Node { return g.Square(g.Add(g.Param(a), g.Param(b))) }},
		{"sum", func(g *Graph) *Node { return g.Sum(g.Mul(g.Param(a), g.Param(b))) }},
		{"mean of square", func(g *Graph) *Node { return g.Mean(g.Square(g.Param(a))) }},
		{"add channels", func(g *Graph) *Node { return g.AddChannels(g.Param(a), g.Param(v)) }},
		{"reuse", func(g *Graph) *Node {
			x := g.Param(a)
			y := g.Mul(x, g.Param(b))
			return g.Add(g.Sub(y, x), g.Scale(y, 3))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkGrad(t, tc.build, a, b, v) })
	}
}

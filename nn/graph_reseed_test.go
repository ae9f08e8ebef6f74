package nn

import (
	"slices"
	"testing"
)

func TestGraphReseed(t *testing.T) {
	run := func(p *Program, x, y *Node, seed uint64) []float32 {
		p.Graph().Reseed(seed)
		p.Set(x, slices.Repeat([]float32{1}, 64))
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(p.Value(y))
	}
	build := func() (*Program, *Node, *Node) {
		g := NewGraph()
		g.Training = true
		x := g.Input("x", 1, 4, 16)
		y := g.Dropout(x, 0.5)
		p, err := g.Compile(nil, y)
		if err != nil {
			t.Fatal(err)
		}
		return p, x, y
	}
	p1, x1, y1 := build()
	p2, x2, y2 := build()
	a := run(p1, x1, y1, 7)
	run(p1, x1, y1, 8) // a run in between must not matter
	b := run(p1, x1, y1, 7)
	c := run(p2, x2, y2, 7)
	d := run(p2, x2, y2, 9)
	if !slices.Equal(a, b) || !slices.Equal(a, c) {
		t.Errorf("same seed, different masks:\n%v\n%v\n%v", a, b, c)
	}
	if slices.Equal(a, d) {
		t.Errorf("seeds 7 and 9 drew the same mask")
	}
}

package nn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestArena runs a residual stack of convolutions as a forward-only
// program, which lends its op buffers, and as the same graph with every
// op owning its buffer: the outputs are bit-equal over several runs with
// new inputs, and the lending program ends up holding a few activations'
// worth of buffers instead of one per op.
func TestArena(t *testing.T) {
	rng := newTestRNG(7)
	ps := &Params{}
	var convs []*Conv1d
	for i := range 6 {
		c, err := NewConv1d(ps, "conv"+string(rune('a'+i)), Conv1dConfig{In: 8, Out: 8, Kernel: 3, Padding: PadCentred}, rng)
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}
	build := func() (*Program, *Node, *Node) {
		g := NewGraph()
		x := g.Input("x", 2, 8, 500)
		h := x
		for _, c := range convs {
			h = g.Add(h, g.GELU(c.Forward(g, h)))
		}
		y := g.Mean(g.Square(h))
		p, err := g.Compile(nil, h, y)
		if err != nil {
			t.Fatal(err)
		}
		return p, x, h
	}
	lend, xl, hl := build()
	own, xo, ho := build()
	if lend.arena == nil || len(lend.arena.ops) < 12 {
		t.Fatalf("the forward-only program lends no buffers")
	}
	for _, op := range own.arena.ops { // the same graph, every op with its own buffer
		op.arena = nil
	}
	own.arena = nil
	in := make([]float32, 2*8*500)
	r := rand.New(rand.NewPCG(1, 2))
	for run := range 3 {
		for i := range in {
			in[i] = float32(r.NormFloat64())
		}
		lend.Set(xl, in)
		own.Set(xo, in)
		if err := lend.Run(); err != nil {
			t.Fatal(err)
		}
		if err := own.Run(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(lend.Value(hl), own.Value(ho)) {
			t.Fatalf("run %d: the lending program's output differs", run)
		}
	}
	buffers := 0
	for _, l := range lend.arena.free {
		buffers += len(l)
	}
	if ops := len(lend.arena.ops); buffers > 4 {
		t.Errorf("%d buffers made for %d ops", buffers, ops)
	}
}

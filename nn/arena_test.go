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
	if buffers, ops := len(lend.arena.free), len(lend.arena.ops); buffers > 4 {
		t.Errorf("%d buffers made for %d ops", buffers, ops)
	}
}

// TestArenaBestFit: a freed buffer serves a smaller request (the smallest
// that fits), so that a network whose activations shrink, as a feature
// encoder's do, reuses its first large buffers instead of holding one per
// size.
func TestArenaBestFit(t *testing.T) {
	a := &arena{}
	big, mid := a.get(1000), a.get(500)
	a.put(big)
	a.put(mid)
	if b := a.get(400); cap(b) != 500 || len(b) != 400 {
		t.Errorf("400 values from buffers of 500 and 1000: got cap %d, len %d", cap(b), len(b))
	}
	if b := a.get(600); cap(b) != 1000 {
		t.Errorf("600 values: cap %d, want the 1000 buffer", cap(b))
	}
	if b := a.get(2000); cap(b) != 2000 || len(a.free) != 0 {
		t.Errorf("2000 values: cap %d, %d idle", cap(b), len(a.free))
	}
}

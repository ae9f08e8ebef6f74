package nn

import (
	"runtime"
	"testing"
)

// TestProgramsAreCollected compiles and drops many programs without Close
// and checks that the heap does not keep them: gorgonia's machine carries a
// finalizer, and a finalizer on a reference cycle keeps it alive forever.
func TestProgramsAreCollected(t *testing.T) {
	rng := newTestRNG(3)
	ps := &Params{}
	conv, err := NewConv1d(ps, "conv", Conv1dConfig{In: 16, Out: 16, Kernel: 3, Padding: PadCentred}, rng)
	if err != nil {
		t.Fatal(err)
	}
	build := func() *Program {
		g := NewGraph()
		x := g.Input("x", 4, 16, 4000) // 1 MiB of input, more in op buffers
		y := conv.Forward(g, x)
		p, err := g.Compile(g.Mean(g.Square(y)))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	build()
	before := heap()
	one := build().Bytes()
	for range 40 {
		build()
	}
	grown := int64(heap()) - int64(before)
	if grown > 4*one {
		t.Errorf("heap grew by %d bytes after 40 dropped programs of %d bytes each: programs are not collected", grown, one)
	}
}

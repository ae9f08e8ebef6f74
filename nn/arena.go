package nn

import (
	"cmp"
	"slices"
)

// arena lends the output buffers of a forward-only float32 program's ops:
// an op takes one when it runs and gives it back once the last op that
// reads it has run, so that memory holds the values still needed rather
// than every node's (a deep network's inference program then holds a few
// layers' activations instead of all of them). Ops that nothing reads
// keep a buffer of their own.
type arena struct {
	free [][]float32 // idle buffers, by capacity from the smallest
	ops  []*customOp // the ops whose buffers it lends
}

// minArenaSize is the smallest output, in values, worth lending.
const minArenaSize = 1024

// newArena counts, for every op node of g whose output is big enough, the
// ops that read it, and lends those buffers.
func newArena(g *Graph) *arena {
	a := &arena{}
	for _, n := range g.nodes {
		for _, in := range n.inputs {
			if in.op != nil {
				in.op.readers++
			}
		}
	}
	for _, n := range g.nodes {
		if op := n.op; op != nil && op.readers > 0 && shapeSize(op.outShape) >= minArenaSize {
			op.arena = a
			a.ops = append(a.ops, op)
		}
	}
	return a
}

// reset takes back every buffer still lent (a run that failed half-way
// leaves some) and rearms the reader counts before a run.
func (a *arena) reset() {
	for _, op := range a.ops {
		if op.out32 != nil {
			a.put(op.out32)
			op.out32 = nil
		}
		op.left = op.readers
	}
}

// get returns a buffer of n values, with whatever it held: the smallest
// idle buffer that holds n (a large one early in a network, such as the
// feature encoder's first outputs, serves the smaller ones after it), else
// a new one.
func (a *arena) get(n int) []float32 {
	i, _ := slices.BinarySearchFunc(a.free, n, func(b []float32, n int) int { return cmp.Compare(cap(b), n) })
	if i == len(a.free) {
		return make([]float32, n)
	}
	b := a.free[i]
	a.free = slices.Delete(a.free, i, i+1)
	return b[:n]
}

// put takes back a buffer.
func (a *arena) put(b []float32) {
	i, _ := slices.BinarySearchFunc(a.free, cap(b), func(f []float32, c int) int { return cmp.Compare(cap(f), c) })
	a.free = slices.Insert(a.free, i, b[:cap(b)])
}

// read records that an op has read the output of op, and takes the buffer
// back after its last reader.
func (a *arena) read(op *customOp) {
	op.left--
	if op.left == 0 {
		a.put(op.out32)
		op.out32 = nil
	}
}

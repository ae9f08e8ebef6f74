package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is a computation with fixed shapes, built once per input shape and
// compiled into a Program. Nodes are added by Input, Param and the op
// methods (Conv1d, GELU, Add, ...). A Graph is not safe for concurrent use.
//
// Errors are sticky: an op whose inputs have the wrong shape, or whose input
// is too short (a data problem, such as a clip shorter than the encoder's
// receptive field), records the first error and returns a placeholder node;
// later ops on placeholders do nothing; Err and Compile report the error.
// So a model's Forward can chain layers without checking each one.
type Graph struct {
	// Training enables dropout. Set it before building the graph.
	Training bool
	// Seed seeds the graph's random numbers (dropout masks). Set it
	// before building the graph; runs of two graphs with the same seed
	// draw the same masks.
	Seed uint64

	g      *gorgonia.ExprGraph
	dt     tensor.Dtype
	err    error
	nodes  []*Node // every node, in creation order (a topological order)
	params map[*Param]*Node
	inputs map[string]*Node
	rng    *rand.Rand
	window batchWindow // SetBatchWindow
	nextID int
	prog   *Program // set by Compile
}

// Node is a tensor-valued node of a Graph.
type Node struct {
	g      *Graph
	n      *gorgonia.Node // nil for a placeholder after an error
	shape  []int
	inputs []*Node   // the op's inputs; nil for inputs and params
	op     *customOp // nil for inputs and params
	param  *Param    // set for param nodes
	in32   []float32 // backing of an input node (float32 graphs)
	in64   []float64 // backing of an input or param node (float64 graphs)
	name   string    // input or param name
	dep    bool      // depends on a trainable param (set by Compile)
	onPath bool      // the loss depends on it (set by Compile)
}

// NewGraph returns an empty float32 graph in inference mode.
func NewGraph() *Graph { return newGraph(tensor.Float32) }

// newGraph64 returns an empty float64 graph, used by the gradient checks.
// Params are copied into float64 shadows at every run.
func newGraph64() *Graph { return newGraph(tensor.Float64) }

func newGraph(dt tensor.Dtype) *Graph {
	return &Graph{
		g:      gorgonia.NewGraph(),
		dt:     dt,
		params: map[*Param]*Node{},
		inputs: map[string]*Node{},
	}
}

// Err returns the first error met while building the graph, or nil.
func (g *Graph) Err() error { return g.err }

// Shape returns the node's shape (nil for a placeholder left by an error).
// The caller must not modify it.
func (n *Node) Shape() []int { return n.shape }

// Graph returns the graph the node belongs to.
func (n *Node) Graph() *Graph { return n.g }

// Size is the number of elements of the node's value.
func (n *Node) Size() int { return shapeSize(n.shape) }

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// fail records err (if it is the first) and returns a placeholder node.
func (g *Graph) fail(err error) *Node {
	if g.err == nil {
		g.err = err
	}
	return &Node{g: g}
}

// failf is fail with a formatted "nn: " error.
func (g *Graph) failf(format string, args ...any) *Node {
	return g.fail(fmt.Errorf("nn: "+format, args...))
}

// ok reports whether the graph can still grow with these inputs: no earlier
// error, and every node belongs to g. A foreign node records an error.
func (g *Graph) ok(ns ...*Node) bool {
	if g.err != nil {
		return false
	}
	if g.prog != nil {
		g.failf("graph already compiled: no more nodes can be added")
		return false
	}
	for _, n := range ns {
		if n == nil || n.g != g {
			g.failf("a node of another graph (or nil) used as input")
			return false
		}
		if n.n == nil {
			return false
		}
	}
	return true
}

// Input adds a float32 placeholder of the given shape (at least one
// dimension, all positive), set with Program.Set before each run. Input
// names must be unique within the graph; a bad shape or a repeated name is
// an error reported by Err and Compile.
func (g *Graph) Input(name string, shape ...int) *Node {
	if !g.ok() {
		return &Node{g: g}
	}
	if len(shape) == 0 || slices.Min(shape) <= 0 {
		return g.failf("input %q: bad shape %v", name, shape)
	}
	if _, dup := g.inputs[name]; dup {
		return g.failf("input %q added twice", name)
	}
	n := &Node{g: g, shape: slices.Clone(shape), name: name}
	var t *tensor.Dense
	if g.dt == tensor.Float32 {
		n.in32 = make([]float32, shapeSize(shape))
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(n.in32))
	} else {
		n.in64 = make([]float64, shapeSize(shape))
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(n.in64))
	}
	n.n = gorgonia.NewTensor(g.g, g.dt, len(shape), gorgonia.WithShape(shape...),
		gorgonia.WithName("input:"+name), gorgonia.WithValue(t))
	g.inputs[name] = n
	g.nodes = append(g.nodes, n)
	return n
}

// Param binds p into the graph. In a float32 graph the node's value is
// p.Data itself, so every graph sees the optimiser's updates without a copy.
// Binding the same Param twice returns the same node. After a backward run
// the gradient is added into p.Grad, unless p is frozen.
func (g *Graph) Param(p *Param) *Node {
	if n, ok := g.params[p]; ok && !sameShape(n.shape, p.Shape) {
		return g.Reshape(n, p.Shape...) // bound as a view of another shape
	}
	return g.paramAs(p, p.Shape)
}

// paramAs binds p with the given shape, of p's size: its values and
// gradient seen in another layout without a copy (a Linear's [Out, In]
// weight as the [Out, In, 1] kernel of a convolution). A param already
// bound with another shape is reshaped (a copy).
func (g *Graph) paramAs(p *Param, shape []int) *Node {
	if n, ok := g.params[p]; ok {
		if sameShape(n.shape, shape) {
			return n
		}
		return g.Reshape(n, shape...)
	}
	if !g.ok() {
		return &Node{g: g}
	}
	if len(p.Shape) == 0 || shapeSize(p.Shape) != len(p.Data) || shapeSize(shape) != len(p.Data) || p.Grad != nil && len(p.Grad) != len(p.Data) {
		return g.failf("param %s: shape %v (bound as %v) does not match %d values and %d gradients", p.Name, p.Shape, shape, len(p.Data), len(p.Grad))
	}
	n := &Node{g: g, shape: slices.Clone(shape), param: p, name: p.Name}
	var t *tensor.Dense
	if g.dt == tensor.Float32 {
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(p.Data))
	} else {
		n.in64 = make([]float64, len(p.Data))
		for i, v := range p.Data {
			n.in64[i] = float64(v)
		}
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(n.in64))
	}
	n.n = gorgonia.NewTensor(g.g, g.dt, len(shape), gorgonia.WithShape(shape...),
		gorgonia.WithName(fmt.Sprintf("param:%s#%d", p.Name, len(g.params))), gorgonia.WithValue(t))
	g.params[p] = n
	g.nodes = append(g.nodes, n)
	return n
}

// random returns the graph's generator, created from Seed on first use.
func (g *Graph) random() *rand.Rand {
	if g.rng == nil {
		g.rng = rand.New(rand.NewPCG(g.Seed, 0x5eed_d20b))
	}
	return g.rng
}

// uniqueID returns a number unique within the graph, for the names of
// stateful ops (which must never be merged with an equal-looking op).
func (g *Graph) uniqueID() int {
	g.nextID++
	return g.nextID
}

func sameShape(a, b []int) bool { return slices.Equal(a, b) }

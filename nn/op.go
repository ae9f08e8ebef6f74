package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file is the whole of nn's contact with gorgonia's Op interface. Every
// op of the package is a kernel: its math, free of gorgonia. Recipe for a
// new op with a hand-written gradient (see op_gelu.go for a short example):
//
//  1. One file op_NAME.go. A struct type holding the op's attributes
//     (sizes, eps, pointers to per-run state such as index slices).
//  2. name() string: the op name and attributes, for messages.
//  3. forward(out buf, in []buf): compute out from in. out.f32 is set in a
//     float32 graph, out.f64 in a float64 graph (gradient checks); write
//     the math once as a generic function over float32|float64 and call it
//     for whichever is set. out holds the previous run's values: overwrite
//     (or clear) it. Never keep or modify the input slices.
//  4. backward(g, in, out, gout, need): return, for each input i with
//     need[i], the node of dLoss/d in[i], built from further ops on g
//     (usually a second kernel type in the same file that computes the
//     gradient from in, out and gout). Return nil for the others.
//     backward may call g.apply itself; the node shapes are known.
//  5. A method on *Graph (or a layer) that checks the input shapes, returns
//     g.failf(...) on a mismatch, and calls g.apply(k, outShape, inputs...).
//  6. A test calling checkGrad on random shapes.
//
// The gorgonia adapter (customOp) supplies Type, InferShape, Do, hashing,
// DiffWRT and SymDiff; its output buffer is allocated once per node and
// reused by every run, or, in a forward-only program, lent by the program's
// arena while its value is still to be read.

// buf is an argument or the result of a kernel: the shape and the values,
// either float32 or float64 (exactly one is non-nil).
type buf struct {
	shape []int
	f32   []float32
	f64   []float64
}

// kernel is the math of one custom op; see the recipe above.
type kernel interface {
	name() string
	forward(out buf, in []buf)
	backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node
}

// float is the element type of the generic kernels.
type float interface{ ~float32 | ~float64 }

// apply adds a node computing k on the inputs, with the given output shape
// (nil or empty for a scalar). The caller has checked g.ok(in...) and the
// shapes.
func (g *Graph) apply(k kernel, outShape []int, in ...*Node) *Node {
	op := &customOp{
		k:        k,
		g:        g,
		id:       fmt.Sprintf("nn.%s#%d", k.name(), g.uniqueID()),
		outShape: slices.Clone(outShape),
		dt:       g.dt,
	}
	children := make([]*gorgonia.Node, len(in))
	for i, n := range in {
		children[i] = n.n
		op.inDims = append(op.inDims, len(n.n.Shape()))
		op.inShapes = append(op.inShapes, slices.Clone(n.shape))
	}
	gn, err := gorgonia.ApplyOp(op, children...)
	if err != nil {
		return g.fail(fmt.Errorf("nn: %s: %w", k.name(), err))
	}
	n := &Node{g: g, n: gn, shape: op.outShape, inputs: in, op: op}
	op.node = n
	g.nodes = append(g.nodes, n)
	return n
}

// customOp adapts a kernel to gorgonia's Op and SDOp interfaces.
type customOp struct {
	k        kernel
	g        *Graph
	node     *Node
	id       string
	inDims   []int
	inShapes [][]int
	outShape []int
	dt       tensor.Dtype
	needGrad []bool // set by Compile: which inputs need a gradient

	out32  []float32
	out64  []float64
	outVal gorgonia.Value
	args   []buf

	// Forward-only float32 programs lend the output buffer (see arena):
	// readers is how many ops read the output, left how many have yet to
	// in this run.
	arena         *arena
	readers, left int
}

func (op *customOp) Arity() int { return len(op.inDims) }

func (op *customOp) typeOf(dims int) hm.Type {
	if dims == 0 {
		return op.dt
	}
	return gorgonia.TensorType{Dims: dims, Of: op.dt}
}

func (op *customOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.inDims)+1)
	for _, d := range op.inDims {
		ts = append(ts, op.typeOf(d))
	}
	ts = append(ts, op.typeOf(len(op.outShape)))
	return hm.NewFnType(ts...)
}

func (op *customOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(op.outShape) == 0 {
		return tensor.ScalarShape(), nil
	}
	return tensor.Shape(slices.Clone(op.outShape)), nil
}

func (op *customOp) ReturnsPtr() bool      { return false }
func (op *customOp) CallsExtern() bool     { return false }
func (op *customOp) OverwritesInput() int  { return -1 }
func (op *customOp) WriteHash(h hash.Hash) { h.Write([]byte(op.id)) }
func (op *customOp) String() string        { return op.id }

func (op *customOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// Do runs the kernel. The output buffer belongs to the op and is reused, or
// comes from the arena, which takes back the inputs' buffers once their
// last reader has run.
func (op *customOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != len(op.inShapes) {
		return nil, fmt.Errorf("nn: %s: %d inputs, want %d", op.id, len(vals), len(op.inShapes))
	}
	if op.args == nil {
		op.args = make([]buf, len(vals))
	}
	for i, v := range vals {
		b, err := valueBuf(v, op.inShapes[i])
		if err != nil {
			return nil, fmt.Errorf("nn: %s: input %d: %w", op.id, i, err)
		}
		op.args[i] = b
	}
	out := buf{shape: op.outShape}
	n := shapeSize(op.outShape)
	if op.dt == tensor.Float32 {
		if op.out32 == nil {
			if op.arena != nil {
				op.out32 = op.arena.get(n)
				op.outVal = nil
			} else {
				op.out32 = make([]float32, n)
			}
		}
		out.f32 = op.out32
	} else {
		if op.out64 == nil {
			op.out64 = make([]float64, n)
		}
		out.f64 = op.out64
	}
	if err := op.run(out); err != nil {
		return nil, err
	}
	for _, in := range op.node.inputs {
		if in.op != nil && in.op.arena != nil {
			in.op.arena.read(in.op)
		}
	}
	if len(op.outShape) == 0 {
		if op.dt == tensor.Float32 {
			return gorgonia.NewF32(op.out32[0]), nil
		}
		return gorgonia.NewF64(op.out64[0]), nil
	}
	if op.outVal == nil || op.arena != nil {
		if op.dt == tensor.Float32 {
			op.outVal = tensor.New(tensor.WithShape(op.outShape...), tensor.WithBacking(op.out32))
		} else {
			op.outVal = tensor.New(tensor.WithShape(op.outShape...), tensor.WithBacking(op.out64))
		}
	}
	return op.outVal, nil
}

// run calls the kernel, turning a panic (a bug: shapes are checked when
// the graph is built) into an error, since it happens on the machine's
// goroutine where the caller could not recover it.
func (op *customOp) run(out buf) (err error) {
	defer func() {
		clear(op.args)
		if r := recover(); r != nil {
			err = fmt.Errorf("nn: %s: %v", op.id, r)
		}
	}()
	op.k.forward(out, op.args)
	return nil
}

// valueBuf views a gorgonia value as a buf of the expected shape.
func valueBuf(v gorgonia.Value, shape []int) (buf, error) {
	b := buf{shape: shape}
	var data any
	switch x := v.(type) {
	case *gorgonia.F32:
		data = []float32{float32(*x)}
	case *gorgonia.F64:
		data = []float64{float64(*x)}
	case tensor.Tensor:
		if x.RequiresIterator() {
			return b, fmt.Errorf("non-contiguous tensor %v", x.Shape())
		}
		data = x.Data()
	default:
		return b, fmt.Errorf("unexpected value type %T", v)
	}
	switch d := data.(type) {
	case []float32:
		b.f32 = d
	case []float64:
		b.f64 = d
	case float32:
		b.f32 = []float32{d}
	case float64:
		b.f64 = []float64{d}
	default:
		return b, fmt.Errorf("unexpected data type %T", data)
	}
	if n := max(len(b.f32), len(b.f64)); n != shapeSize(shape) {
		return b, fmt.Errorf("%d values for shape %v", n, shape)
	}
	return b, nil
}

// DiffWRT reports which inputs need a gradient (decided by Compile).
func (op *customOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	copy(d, op.needGrad)
	return d
}

// SymDiff builds the gradient nodes through the kernel's backward.
func (op *customOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g := op.g
	if g.err != nil {
		return nil, g.err
	}
	gout := &Node{g: g, n: grad, shape: slices.Clone([]int(grad.Shape()))}
	if !sameShape(gout.shape, op.outShape) && shapeSize(gout.shape) == shapeSize(op.outShape) && len(op.outShape) == 0 {
		gout.shape = nil
	}
	if !sameShape(gout.shape, op.outShape) {
		return nil, fmt.Errorf("nn: %s: gradient of shape %v for an output of shape %v", op.id, gout.shape, op.outShape)
	}
	need := op.DiffWRT(len(op.inDims))
	grads := op.k.backward(g, op.node.inputs, op.node, gout, need)
	if g.err != nil {
		return nil, g.err
	}
	res := make(gorgonia.Nodes, len(op.inDims))
	for i, want := range need {
		if !want {
			continue
		}
		if i >= len(grads) || grads[i] == nil || grads[i].n == nil {
			return nil, fmt.Errorf("nn: %s: no gradient for input %d", op.id, i)
		}
		if !sameShape(grads[i].shape, op.node.inputs[i].shape) {
			return nil, fmt.Errorf("nn: %s: gradient of input %d has shape %v, want %v", op.id, i, grads[i].shape, op.node.inputs[i].shape)
		}
		res[i] = grads[i].n
	}
	return res, nil
}

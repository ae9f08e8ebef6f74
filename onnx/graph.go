package onnx

import (
	"fmt"
	"strconv"
)

// DataType is an element type of a tensor (onnx.proto's
// TensorProto.DataType).
type DataType int32

// The element types the package writes.
const (
	Float  DataType = 1
	Int64  DataType = 7
	Double DataType = 11
)

// Tensor is a constant tensor: an initializer of a graph. Exactly one of
// Float, Double and Int64 holds its values, in row-major order, as many as
// the product of Dims.
type Tensor struct {
	Name   string
	Dims   []int64
	Float  []float32
	Double []float64
	Int64  []int64
}

// Type returns the tensor's element type.
func (t *Tensor) Type() DataType {
	switch {
	case t.Double != nil:
		return Double
	case t.Int64 != nil:
		return Int64
	}
	return Float
}

// size returns the number of values the dims call for.
func (t *Tensor) size() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Dim is one dimension of a graph input or output: a fixed Size, or a
// symbolic Param ("batch", "samples") for a size known only at run time.
type Dim struct {
	Size  int64
	Param string
}

// Sym returns a symbolic dimension.
func Sym(name string) Dim { return Dim{Param: name} }

// Fixed returns a fixed dimension.
func Fixed(n int) Dim { return Dim{Size: int64(n)} }

// Value is a graph input or output: its name, element type and shape.
type Value struct {
	Name string
	Type DataType
	Dims []Dim
}

// Attr is a node attribute; make one with Int, Ints, FloatAttr or String.
type Attr struct {
	Name  string
	kind  int32 // onnx.proto's AttributeProto.AttributeType
	i     int64
	f     float32
	s     string
	ints  []int64
	float []float32
}

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrFloats = 6
	attrInts   = 7
)

// Int returns an integer attribute.
func Int(name string, v int64) Attr { return Attr{Name: name, kind: attrInt, i: v} }

// Ints returns a list-of-integers attribute.
func Ints(name string, v ...int64) Attr { return Attr{Name: name, kind: attrInts, ints: v} }

// FloatAttr returns a float attribute.
func FloatAttr(name string, v float32) Attr { return Attr{Name: name, kind: attrFloat, f: v} }

// Floats returns a list-of-floats attribute.
func Floats(name string, v ...float32) Attr { return Attr{Name: name, kind: attrFloats, float: v} }

// String returns a string attribute.
func String(name, v string) Attr { return Attr{Name: name, kind: attrString, s: v} }

// Node is one operator application.
type Node struct {
	Op      string // op type, as ONNX spells it: "Conv", "MatMul", ...
	Name    string
	Inputs  []string // value names; "" for an optional input left out
	Outputs []string
	Attrs   []Attr
}

// Graph is an ONNX graph under construction: inputs, constants, nodes in
// topological order (each node's inputs defined before it) and outputs.
// Its methods name the values they create uniquely.
type Graph struct {
	Name         string
	Inputs       []Value
	Outputs      []Value
	Initializers []*Tensor
	Nodes        []Node

	n int // values named so far
}

// NewGraph returns an empty graph.
func NewGraph(name string) *Graph { return &Graph{Name: name} }

// fresh returns a new value name built on prefix.
func (g *Graph) fresh(prefix string) string {
	g.n++
	return prefix + "_" + strconv.Itoa(g.n)
}

// Input adds a graph input and returns its name.
func (g *Graph) Input(name string, typ DataType, dims ...Dim) string {
	g.Inputs = append(g.Inputs, Value{Name: name, Type: typ, Dims: dims})
	return name
}

// Output makes the value src a graph output called name (through an
// Identity node when the names differ).
func (g *Graph) Output(name, src string, typ DataType, dims ...Dim) {
	if src != name {
		g.Nodes = append(g.Nodes, Node{Op: "Identity", Name: name, Inputs: []string{src}, Outputs: []string{name}})
	}
	g.Outputs = append(g.Outputs, Value{Name: name, Type: typ, Dims: dims})
}

// Const adds t as an initializer named after t.Name (made unique) and
// returns that name. It panics if t's values do not fill its dims.
func (g *Graph) Const(t *Tensor) string {
	if n := int64(len(t.Float) + len(t.Double) + len(t.Int64)); n != t.size() {
		panic(fmt.Sprintf("onnx: constant %s: %d values for dims %v", t.Name, n, t.Dims))
	}
	c := *t
	c.Name = g.fresh(t.Name)
	g.Initializers = append(g.Initializers, &c)
	return c.Name
}

// Floats adds a float constant of the given dims and returns its name.
func (g *Graph) Floats(name string, data []float32, dims ...int) string {
	return g.Const(&Tensor{Name: name, Dims: int64s(dims), Float: data})
}

// Doubles adds a double constant of the given dims and returns its name.
func (g *Graph) Doubles(name string, data []float64, dims ...int) string {
	return g.Const(&Tensor{Name: name, Dims: int64s(dims), Double: data})
}

// Int64s adds a one-dimensional int64 constant and returns its name.
func (g *Graph) Int64s(name string, v ...int64) string {
	return g.Const(&Tensor{Name: name, Dims: []int64{int64(len(v))}, Int64: v})
}

// Scalar adds a float scalar constant and returns its name.
func (g *Graph) Scalar(name string, v float32) string {
	return g.Const(&Tensor{Name: name, Dims: []int64{}, Float: []float32{v}})
}

// Op adds a node of op type op with one output and returns the output's
// name.
func (g *Graph) Op(op string, inputs []string, attrs ...Attr) string {
	out := g.fresh(op)
	g.Nodes = append(g.Nodes, Node{Op: op, Name: out, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

package nn

import "fmt"

// Param is one named, trainable tensor. Its values live outside any graph, so
// that every compiled graph (one per input shape) reads and writes the same
// memory, and the optimiser and the checkpoint see one list.
type Param struct {
	Name  string    // dotted name, e.g. "encoder.conv.0.weight"
	Shape []int     // row-major shape
	Data  []float32 // values, len = product of Shape
	// Grad is the accumulated gradient, of Data's length; nil after
	// DropGrads until a program that computes it is compiled or an
	// optimiser takes the parameter (EnsureGrad).
	Grad   []float32
	Frozen bool // a frozen parameter gets no gradient and no update
	// LRScale multiplies the optimiser's learning rate for this parameter
	// (0 means 1); it is not saved in checkpoints.
	LRScale float64
}

// NewParam returns a zero-valued parameter of the given shape.
func NewParam(name string, shape ...int) *Param { return newParam(name, true, shape) }

// newParam returns a zero parameter, with its gradient if grad.
func newParam(name string, grad bool, shape []int) *Param {
	n := 1
	for _, d := range shape {
		if d <= 0 {
			panic(fmt.Sprintf("nn: parameter %s: bad shape %v", name, shape))
		}
		n *= d
	}
	p := &Param{Name: name, Shape: append([]int(nil), shape...), Data: make([]float32, n)}
	if grad {
		p.Grad = make([]float32, n)
	}
	return p
}

// DropGrads releases the gradients of params, for a model used only for
// inference: half its memory. A program compiled to compute a gradient, or
// an optimiser, allocates it again (EnsureGrad).
func DropGrads(params []*Param) {
	for _, p := range params {
		p.Grad = nil
	}
}

// EnsureGrad allocates Grad (zero) if it is not yet, and returns it.
func (p *Param) EnsureGrad() []float32 {
	if len(p.Grad) != len(p.Data) {
		p.Grad = make([]float32, len(p.Data))
	}
	return p.Grad
}

// Size is the number of elements.
func (p *Param) Size() int { return len(p.Data) }

// ZeroGrad sets the accumulated gradient to zero.
func (p *Param) ZeroGrad() { clear(p.Grad) }

package nn

import "fmt"

// Param is one named, trainable tensor. Its values live outside any graph, so
// that every compiled graph (one per input shape) reads and writes the same
// memory, and the optimiser and the checkpoint see one list.
type Param struct {
	Name   string    // dotted name, e.g. "encoder.conv.0.weight"
	Shape  []int     // row-major shape
	Data   []float32 // values, len = product of Shape
	Grad   []float32 // accumulated gradient, same length as Data
	Frozen bool      // a frozen parameter gets no gradient and no update
	// LRScale multiplies the optimiser's learning rate for this parameter
	// (0 means 1); it is not saved in checkpoints.
	LRScale float64
}

// NewParam returns a zero-valued parameter of the given shape.
func NewParam(name string, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		if d <= 0 {
			panic(fmt.Sprintf("nn: parameter %s: bad shape %v", name, shape))
		}
		n *= d
	}
	return &Param{Name: name, Shape: append([]int(nil), shape...), Data: make([]float32, n), Grad: make([]float32, n)}
}

// Size is the number of elements.
func (p *Param) Size() int { return len(p.Data) }

// ZeroGrad sets the accumulated gradient to zero.
func (p *Param) ZeroGrad() { clear(p.Grad) }

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Params is an ordered list of parameters with unique names: a model's
// parameters, as the optimiser and the checkpoints see them. The zero value
// is an empty list.
type Params struct {
	// NoGrad makes New leave the gradients unallocated (see DropGrads):
	// for a model built to load weights into and run.
	NoGrad bool
	list   []*Param
	byName map[string]*Param
}

// Add appends p and returns it. A repeated name is a programming error
// (two layers built with the same prefix) and panics.
func (ps *Params) Add(p *Param) *Param {
	if ps.byName == nil {
		ps.byName = map[string]*Param{}
	}
	if _, dup := ps.byName[p.Name]; dup {
		panic(fmt.Sprintf("nn: parameter %s added twice", p.Name))
	}
	ps.byName[p.Name] = p
	ps.list = append(ps.list, p)
	return p
}

// New adds a zero parameter of the given shape.
func (ps *Params) New(name string, shape ...int) *Param {
	return ps.Add(newParam(name, !ps.NoGrad, shape))
}

// List returns the parameters in the order they were added. The slice is
// the list's own: do not modify it.
func (ps *Params) List() []*Param { return ps.list }

// Get returns the parameter of that name, or nil.
func (ps *Params) Get(name string) *Param { return ps.byName[name] }

// Len is the number of parameters.
func (ps *Params) Len() int { return len(ps.list) }

// NumValues is the total number of scalar values.
func (ps *Params) NumValues() int {
	n := 0
	for _, p := range ps.list {
		n += p.Size()
	}
	return n
}

// ZeroGrad zeroes every accumulated gradient.
func (ps *Params) ZeroGrad() {
	for _, p := range ps.list {
		p.ZeroGrad()
	}
}

// SetFrozen freezes (or unfreezes) every parameter whose name starts with
// prefix ("" means all) and returns how many it changed.
func (ps *Params) SetFrozen(prefix string, frozen bool) int {
	n := 0
	for _, p := range ps.list {
		if strings.HasPrefix(p.Name, prefix) && p.Frozen != frozen {
			p.Frozen = frozen
			n++
		}
	}
	return n
}

// initUniform fills p with U(-bound, bound) values; a nil rng leaves p
// zero, for weights that a checkpoint is about to overwrite.
func initUniform(p *Param, bound float64, rng *rand.Rand) {
	if rng == nil {
		return
	}
	for i := range p.Data {
		p.Data[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// initConst fills p with v.
func initConst(p *Param, v float32) {
	for i := range p.Data {
		p.Data[i] = v
	}
}

// fanInBound is PyTorch's bound for conv and linear weights and biases:
// kaiming_uniform with a = sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
func fanInBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }

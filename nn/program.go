package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled Graph: set the inputs, Run, read the loss and the
// outputs. A Program is not safe for concurrent use; two Programs (of two
// graphs) may run in parallel only if they do not share trainable Params
// (gradients are added into Param.Grad without locking).
type Program struct {
	g       *Graph
	m       gorgonia.VM
	loss    *Node
	lossVal float64
	outputs map[*Node]*outBuf
	grads   []*paramGrad // one per trainable param the loss depends on
	binds   []*Node      // every param node (float64 graphs copy them in)
	arena   *arena       // forward-only float32 programs: lends op buffers

	// noSync (float64 graphs, gradient checks): do not copy Param.Data
	// into the param shadows before a run.
	noSync bool
	// fixedRNG: reseed the graph's generator before every run, so every
	// run draws the same masks (gradient checks).
	fixedRNG bool
}

// outBuf receives an output's values at the end of each run.
type outBuf struct {
	f32 []float32
	f64 []float64
}

// paramGrad is where one run's gradient of a param arrives.
type paramGrad struct {
	node   *Node
	grad64 []float64 // float64 graphs: this run's gradient
}

// Compile makes a Program of the graph. With a loss (a scalar node) it adds
// the backward pass with respect to every param the loss depends on that is
// not frozen at this moment: each Run then adds those gradients into
// Param.Grad. Freezing a param later stops its accumulation; unfreezing one
// that was frozen at Compile needs a new graph (so models key their program
// cache by the freeze phase as well as the shape). With a nil loss the
// program runs forward only. outputs are the nodes read with Value after a
// run. A graph compiles once.
func (g *Graph) Compile(loss *Node, outputs ...*Node) (prog *Program, err error) {
	if g.err != nil {
		return nil, g.err
	}
	if g.prog != nil {
		return nil, errors.New("nn: compile: graph already compiled")
	}
	check := outputs
	if loss != nil {
		check = append([]*Node{loss}, outputs...)
	}
	if !g.ok(check...) {
		return nil, g.err
	}
	p := &Program{g: g, outputs: map[*Node]*outBuf{}}
	for _, n := range g.nodes {
		if n.param != nil {
			p.binds = append(p.binds, n)
		}
	}
	if loss != nil {
		if len(loss.shape) != 0 {
			return nil, fmt.Errorf("nn: compile: the loss must be a scalar, not of shape %v", loss.shape)
		}
		if err := g.addBackward(p, loss); err != nil {
			return nil, err
		}
		p.addOutput("loss", loss)
		p.loss = loss
	}
	for _, o := range outputs {
		if _, ok := p.outputs[o]; !ok {
			p.addOutput("output", o)
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("nn: compile: %v", r)
		}
	}()
	if loss == nil && g.dt == tensor.Float32 {
		p.arena = newArena(g)
	}
	p.m = gorgonia.NewTapeMachine(g.g)
	// gorgonia sets a finalizer on the machine (it frees CUDA state; a no-op
	// in CPU builds). The machine and the graph point at each other through
	// p, and Go never collects a cycle that holds a finalizer: without this,
	// every compiled program, with all its buffers, would stay in memory.
	runtime.SetFinalizer(p.m, nil)
	g.prog = p
	return p, nil
}

// addOutput adds a sink copying o into a program buffer after each run.
func (p *Program) addOutput(what string, o *Node) {
	ob := &outBuf{}
	if p.g.dt == tensor.Float32 {
		ob.f32 = make([]float32, o.Size())
	} else {
		ob.f64 = make([]float64, o.Size())
	}
	p.g.apply(&sinkOp{what: what, dst32: ob.f32, dst64: ob.f64}, []int{1}, o)
	p.outputs[o] = ob
}

// addBackward marks what the loss depends on, decides which op inputs need
// gradients, builds the backward pass and the gradient sinks.
func (g *Graph) addBackward(p *Program, loss *Node) error {
	var mark func(n *Node)
	mark = func(n *Node) {
		if n.onPath {
			return
		}
		n.onPath = true
		for _, in := range n.inputs {
			mark(in)
		}
	}
	mark(loss)
	var wrt gorgonia.Nodes
	var trainable []*Node
	for _, n := range g.nodes { // creation order is a topological order
		switch {
		case n.param != nil:
			n.dep = n.onPath && !n.param.Frozen
			if n.dep {
				wrt = append(wrt, n.n)
				trainable = append(trainable, n)
			}
		case n.op != nil && n.onPath:
			n.op.needGrad = make([]bool, len(n.inputs))
			for i, in := range n.inputs {
				n.op.needGrad[i] = in.dep
				n.dep = n.dep || in.dep
			}
		}
	}
	if len(wrt) == 0 {
		return nil
	}
	var one *gorgonia.Node
	if g.dt == tensor.Float32 {
		one = gorgonia.NewScalar(g.g, g.dt, gorgonia.WithName("nn.one"), gorgonia.WithValue(float32(1)))
	} else {
		one = gorgonia.NewScalar(g.g, g.dt, gorgonia.WithName("nn.one"), gorgonia.WithValue(float64(1)))
	}
	grads, err := gorgonia.Backpropagate(gorgonia.Nodes{loss.n}, gorgonia.Nodes{one}, wrt)
	if err != nil {
		if g.err != nil {
			return g.err
		}
		return fmt.Errorf("nn: compile: backward pass: %w", err)
	}
	for i, gn := range grads {
		pn := trainable[i]
		pn.param.EnsureGrad()
		pg := &paramGrad{node: pn}
		if g.dt == tensor.Float64 {
			pg.grad64 = make([]float64, len(pn.param.Data))
		}
		gnode := &Node{g: g, n: gn, shape: pn.shape}
		g.apply(&sinkOp{what: "grad " + pn.param.Name, acc: true, param: pn.param, dst64: pg.grad64}, []int{1}, gnode)
		p.grads = append(p.grads, pg)
	}
	return g.err
}

// Set copies data into the input node n before a run. Passing a node that
// is not an input of this program's graph, or data of the wrong length, is
// a programming error and panics.
func (p *Program) Set(n *Node, data []float32) {
	if n == nil || n.g != p.g || (n.in32 == nil && (n.in64 == nil || n.param != nil)) {
		panic("nn: Program.Set: not an input of this program's graph")
	}
	if len(data) != n.Size() {
		panic(fmt.Sprintf("nn: Program.Set: input %q of shape %v given %d values", n.name, n.shape, len(data)))
	}
	if n.in32 != nil {
		copy(n.in32, data)
		return
	}
	for i, v := range data {
		n.in64[i] = float64(v)
	}
}

// set64 sets an input of a float64 graph (gradient checks).
func (p *Program) set64(n *Node, data []float64) {
	if n.in64 == nil || n.g != p.g || len(data) != n.Size() {
		panic("nn: set64: not a float64 input of this size")
	}
	copy(n.in64, data)
}

// Run runs the program once: forward, and backward if it has a loss, adding
// the gradients into the Params' Grad.
func (p *Program) Run() error {
	g := p.g
	if g.dt == tensor.Float64 {
		if !p.noSync {
			for _, n := range p.binds {
				for i, v := range n.param.Data {
					n.in64[i] = float64(v)
				}
			}
		}
		for _, pg := range p.grads {
			clear(pg.grad64)
		}
	}
	if p.fixedRNG {
		g.rng = nil
	}
	if p.arena != nil {
		p.arena.reset()
	}
	err := p.m.RunAll()
	p.m.Reset()
	if err != nil {
		return fmt.Errorf("nn: run: %w", err)
	}
	if g.dt == tensor.Float64 {
		for _, pg := range p.grads {
			if pg.node.param.Frozen {
				continue
			}
			for i, v := range pg.grad64 {
				pg.node.param.Grad[i] += float32(v)
			}
		}
	}
	if p.loss != nil {
		ob := p.outputs[p.loss]
		if ob.f32 != nil {
			p.lossVal = float64(ob.f32[0])
		} else {
			p.lossVal = ob.f64[0]
		}
	}
	return nil
}

// Loss returns the loss of the last run (NaN and Inf included), or 0 for a
// program without a loss.
func (p *Program) Loss() float64 { return p.lossVal }

// Value returns the values of an output node (one passed to Compile, or the
// loss) after a run, row-major. The slice belongs to the program and is
// overwritten by the next run. A node that is not an output panics.
func (p *Program) Value(n *Node) []float32 {
	ob, ok := p.outputs[n]
	if !ok {
		panic("nn: Program.Value: not an output of this program")
	}
	if ob.f32 == nil {
		ob.f32 = make([]float32, len(ob.f64))
	}
	if ob.f64 != nil {
		for i, v := range ob.f64 {
			ob.f32[i] = float32(v)
		}
	}
	return ob.f32
}

// value64 returns an output of a float64 graph.
func (p *Program) value64(n *Node) []float64 { return p.outputs[n].f64 }

// Close releases the program's machine.
func (p *Program) Close() error {
	if p.m == nil {
		return nil
	}
	return p.m.Close()
}

// Bytes estimates the memory the program holds between runs: the inputs,
// the float64 param shadows, the output buffers and one buffer per op node
// (forward and backward), which keep their values between runs, or, in a
// forward-only program, the buffers its ops share. Param
// values and gradients, owned by the Params, are not counted; neither are
// the short-lived sums gorgonia allocates where a node feeds several
// gradients.
func (p *Program) Bytes() int64 {
	var n int64
	if p.arena != nil {
		for _, b := range p.arena.free {
			n += 4 * int64(cap(b))
		}
	}
	for _, nd := range p.g.nodes {
		switch {
		case nd.op != nil && nd.op.arena != nil:
			// its buffer is the arena's, counted above
		case nd.op != nil && nd.op.out32 != nil:
			n += 4 * int64(len(nd.op.out32))
		case nd.op != nil && nd.op.out64 != nil:
			n += 8 * int64(len(nd.op.out64))
		case nd.op != nil:
			n += int64(p.g.dt.Size()) * int64(nd.Size())
		}
		n += 4*int64(len(nd.in32)) + 8*int64(len(nd.in64))
	}
	for _, ob := range p.outputs {
		n += 4*int64(len(ob.f32)) + 8*int64(len(ob.f64))
	}
	return n
}

// Graph returns the graph the program was compiled from.
func (p *Program) Graph() *Graph { return p.g }

// sinkOp copies (or, with acc, adds) its input into a destination at each
// run: the outputs, the loss, and the parameter gradients. Its own output
// is a dummy [1] that nothing reads.
type sinkOp struct {
	what  string
	acc   bool
	param *Param // acc into param.Grad (float32 graphs) unless frozen
	dst32 []float32
	dst64 []float64
}

func (k *sinkOp) name() string { return "sink(" + k.what + ")" }

func (k *sinkOp) forward(out buf, in []buf) {
	x := in[0]
	switch {
	case k.param != nil && x.f32 != nil:
		if !k.param.Frozen {
			addTo(k.param.Grad, x.f32)
		}
	case k.param != nil:
		addTo(k.dst64, x.f64)
	case x.f32 != nil:
		copy(k.dst32, x.f32)
	default:
		copy(k.dst64, x.f64)
	}
	if out.f32 != nil {
		out.f32[0] = 0
	} else {
		out.f64[0] = 0
	}
}

func (k *sinkOp) backward(*Graph, []*Node, *Node, *Node, []bool) []*Node { return nil }

func addTo[F float](dst, src []F) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// newTestRNG is a seeded generator for tests and examples.
func newTestRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

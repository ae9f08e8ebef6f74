package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// smallNet is conv -> group norm -> GELU -> dropout -> linear -> layer norm,
// with a residual connection: every layer in one gradient check.
type smallNet struct {
	ps   Params
	conv *Conv1d
	gn   *GroupNorm
	lin  *Linear
	ln   *LayerNorm
}

func newSmallNet(t *testing.T, pad Padding, groups int) *smallNet {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	n := &smallNet{}
	var err error
	if n.conv, err = NewConv1d(&n.ps, "net.conv", Conv1dConfig{In: 2, Out: 4, Kernel: 3, Dilation: 2, Padding: pad}, rng); err != nil {
		t.Fatal(err)
	}
	if n.gn, err = NewGroupNorm(&n.ps, "net.gn", groups, 4); err != nil {
		t.Fatal(err)
	}
	if n.lin, err = NewLinear(&n.ps, "net.proj", 4, 4, false, rng); err != nil {
		t.Fatal(err)
	}
	if n.ln, err = NewLayerNorm(&n.ps, "net.ln", 4); err != nil {
		t.Fatal(err)
	}
	// Move the norms away from their trivial initial values.
	for _, p := range []*Param{n.gn.Gamma, n.gn.Beta, n.ln.Gamma, n.ln.Beta} {
		for i := range p.Data {
			p.Data[i] += float32(rng.NormFloat64() * 0.5)
		}
	}
	return n
}

func (n *smallNet) forward(g *Graph, x *Node) *Node {
	h := n.conv.Forward(g, x)
	h = g.GELU(n.gn.Forward(g, h))
	h = g.Dropout(h, 0.2)
	h = g.Add(h, n.lin.Forward(g, h))
	return n.ln.Forward(g, h)
}

func TestLayersGrad(t *testing.T) {
	for _, tc := range []struct {
		pad    Padding
		groups int
	}{{PadCausal, 1}, {PadCentred, 4}, {PadCentred, 2}} {
		t.Run(fmt.Sprintf("pad=%d,groups=%d", tc.pad, tc.groups), func(t *testing.T) {
			n := newSmallNet(t, tc.pad, tc.groups)
			x := randParam(rand.New(rand.NewPCG(2, 2)), "x", 2, 2, 9)
			checkGrad(t, func(g *Graph) *Node { return n.forward(g, g.Param(x)) }, append([]*Param{x}, n.ps.List()...)...)
		})
	}
}

func TestConv1dPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		cfg       Conv1dConfig
		tin, want int
		wantLeft  int
		wantRight int
	}{
		{Conv1dConfig{In: 1, Out: 1, Kernel: 3, Padding: PadCentred}, 10, 10, 1, 1},
		{Conv1dConfig{In: 1, Out: 1, Kernel: 4, Padding: PadCentred}, 10, 10, 1, 2},
		{Conv1dConfig{In: 1, Out: 1, Kernel: 3, Dilation: 4, Padding: PadCentred}, 10, 10, 4, 4},
		{Conv1dConfig{In: 1, Out: 1, Kernel: 3, Dilation: 2, Padding: PadCausal}, 10, 10, 4, 0},
		{Conv1dConfig{In: 1, Out: 1, Kernel: 10, Stride: 5}, 16000, 3199, 0, 0},
		{Conv1dConfig{In: 1, Out: 1, Kernel: 2, Stride: 2, PadLeft: 1, PadRight: 1}, 5, 3, 1, 1},
	}
	for i, tc := range tests {
		var ps Params
		c, err := NewConv1d(&ps, fmt.Sprint("c", i), tc.cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.OutLen(tc.tin); got != tc.want {
			t.Errorf("%+v: OutLen(%d) = %d, want %d", tc.cfg, tc.tin, got, tc.want)
		}
		if o := c.Opts(); o.PadLeft != tc.wantLeft || o.PadRight != tc.wantRight {
			t.Errorf("%+v: padding %d+%d, want %d+%d", tc.cfg, o.PadLeft, o.PadRight, tc.wantLeft, tc.wantRight)
		}
		g := NewGraph()
		y := c.Forward(g, g.Input("x", 1, 1, tc.tin))
		if len(y.Shape()) != 3 || y.Shape()[2] != tc.want {
			t.Errorf("%+v: output shape %v, want %d frames", tc.cfg, y.Shape(), tc.want)
		}
	}
	var ps Params
	if _, err := NewConv1d(&ps, "bad", Conv1dConfig{In: 0, Out: 2, Kernel: -1, Stride: -1}, rng); err == nil {
		t.Error("invalid config accepted")
	}
}

// TestCausal checks that a causal, dilated conv's output at t depends on
// exactly the inputs t, t-2, t-4, t-6.
func TestCausal(t *testing.T) {
	var ps Params
	c, err := NewConv1d(&ps, "c", Conv1dConfig{In: 2, Out: 3, Kernel: 4, Dilation: 2, Padding: PadCausal}, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph()
	x := g.Input("x", 1, 2, 12)
	y := c.Forward(g, x)
	prog, err := g.Compile(nil, y)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 24)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range in {
		in[i] = float32(rng.NormFloat64())
	}
	prog.Set(x, in)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), prog.Value(y)...)
	in[7], in[12+7] = 100, -100 // frame 7 of both channels
	prog.Set(x, in)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	after := prog.Value(y)
	for ch := range 3 {
		for tt := range 12 {
			changed := before[ch*12+tt] != after[ch*12+tt]
			d := tt - 7 // taps at t, t-2, t-4, t-6
			if changed != (d >= 0 && d%2 == 0 && d/2 < 4) {
				t.Errorf("channel %d frame %d: changed=%t", ch, tt, changed)
			}
		}
	}
}

func TestInit(t *testing.T) {
	var ps Params
	rng := rand.New(rand.NewPCG(5, 5))
	c, _ := NewConv1d(&ps, "enc.conv.0", Conv1dConfig{In: 16, Out: 32, Kernel: 4}, rng)
	l, _ := NewLinear(&ps, "proj", 64, 8, false, rng)
	n, _ := NewGroupNorm(&ps, "enc.norm", 32, 32)
	for _, tc := range []struct {
		p     *Param
		bound float64
	}{{c.Weight, 1 / 8.0}, {c.Bias, 1 / 8.0}, {l.Weight, 1 / 8.0}, {l.Bias, 1 / 8.0}} {
		var maxAbs, sum2 float64
		for _, v := range tc.p.Data {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
			sum2 += float64(v) * float64(v)
		}
		// U(-a, a) has variance a^2/3.
		sd := math.Sqrt(sum2 / float64(tc.p.Size()))
		if maxAbs > tc.bound || (tc.p.Size() > 100 && (maxAbs < 0.95*tc.bound || math.Abs(sd-tc.bound/math.Sqrt(3)) > 0.05*tc.bound)) {
			t.Errorf("%s: max |w| %g, sd %g for bound %g", tc.p.Name, maxAbs, sd, tc.bound)
		}
	}
	for i := range n.Gamma.Data {
		if n.Gamma.Data[i] != 1 || n.Beta.Data[i] != 0 {
			t.Fatal("norm not initialised to gamma 1, beta 0")
		}
	}
	want := []string{"enc.conv.0.weight", "enc.conv.0.bias", "proj.weight", "proj.bias", "enc.norm.weight", "enc.norm.bias"}
	for i, p := range ps.List() {
		if p.Name != want[i] || ps.Get(want[i]) != p {
			t.Errorf("param %d is %s, want %s", i, p.Name, want[i])
		}
	}
	if ps.NumValues() != 32*16*4+32+64*8+8+64 {
		t.Errorf("NumValues = %d", ps.NumValues())
	}
	if got := ps.SetFrozen("enc.", true); got != 4 {
		t.Errorf("SetFrozen froze %d params, want 4", got)
	}
}

// gradOf runs a program once from zero gradients and returns the
// gradients of ps.
func gradOf(t *testing.T, prog *Program, ps []*Param) [][]float32 {
	t.Helper()
	for _, p := range ps {
		p.ZeroGrad()
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, p := range ps {
		out = append(out, append([]float32(nil), p.Grad...))
	}
	return out
}

// TestSharedParamsAccumulate builds two graphs of different shapes over the
// same parameters: gradients of both runs add up in Param.Grad, and a
// change of Param.Data is seen by both compiled graphs.
func TestSharedParamsAccumulate(t *testing.T) {
	n := newSmallNet(t, PadCentred, 1)
	rng := rand.New(rand.NewPCG(8, 8))
	build := func(B, T int) (*Program, *Node) {
		g := NewGraph()
		x := g.Input("x", B, 2, T)
		y := n.forward(g, x)
		prog, err := g.Compile(g.Mean(g.Square(y)), y)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float32, x.Size())
		for i := range in {
			in[i] = float32(rng.NormFloat64())
		}
		prog.Set(x, in)
		return prog, y
	}
	pa, ya := build(2, 11)
	pb, _ := build(3, 17)
	ps := n.ps.List()
	ga := gradOf(t, pa, ps)
	gb := gradOf(t, pb, ps)
	for _, p := range ps {
		p.ZeroGrad()
	}
	if err := pa.Run(); err != nil {
		t.Fatal(err)
	}
	if err := pb.Run(); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		var norm float64
		for j, v := range p.Grad {
			want := ga[i][j] + gb[i][j]
			if math.Abs(float64(v-want)) > 1e-6*(1+math.Abs(float64(want))) {
				t.Fatalf("%s[%d]: accumulated %g, want %g + %g", p.Name, j, v, ga[i][j], gb[i][j])
			}
			norm += float64(ga[i][j]) * float64(ga[i][j])
		}
		if norm == 0 {
			t.Errorf("%s: zero gradient", p.Name)
		}
	}
	// An update of the weights reaches the compiled graph without a copy.
	before := append([]float32(nil), pa.Value(ya)...)
	w0 := n.lin.Weight.Data[0]
	n.lin.Weight.Data[0] += 0.5
	if err := pa.Run(); err != nil {
		t.Fatal(err)
	}
	if equalF32(before, pa.Value(ya)) {
		t.Error("the output did not change after a weight update")
	}
	n.lin.Weight.Data[0] = w0
	if err := pa.Run(); err != nil {
		t.Fatal(err)
	}
	if !equalF32(before, pa.Value(ya)) {
		t.Error("the output is not the same after restoring the weight")
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFrozen(t *testing.T) {
	n := newSmallNet(t, PadCausal, 1)
	n.ps.SetFrozen("net.conv", true)
	g := NewGraph()
	x := g.Input("x", 1, 2, 10)
	prog, err := g.Compile(g.Sum(n.forward(g, x)))
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 20)
	for i := range in {
		in[i] = float32(i%7) - 3
	}
	prog.Set(x, in)
	grads := gradOf(t, prog, n.ps.List())
	for i, p := range n.ps.List() {
		var nz int
		for _, v := range grads[i] {
			if v != 0 {
				nz++
			}
		}
		frozen := p.Frozen
		if frozen && nz > 0 {
			t.Errorf("frozen %s got a gradient", p.Name)
		}
		if !frozen && nz == 0 {
			t.Errorf("trainable %s got no gradient", p.Name)
		}
	}
	// Freezing after Compile stops the accumulation too.
	n.lin.Weight.Frozen = true
	grads = gradOf(t, prog, n.ps.List())
	for _, v := range grads[4] {
		if v != 0 {
			t.Fatalf("%s frozen after Compile got a gradient", n.ps.List()[4].Name)
		}
	}
}

// TestRunAccumulates: two runs without zeroing give twice the gradient, and
// the loss and outputs do not change between runs.
func TestRunAccumulates(t *testing.T) {
	n := newSmallNet(t, PadCentred, 2)
	g := NewGraph()
	x := g.Input("x", 2, 2, 7)
	y := n.forward(g, x)
	loss := g.Mean(y)
	prog, err := g.Compile(loss, y)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, x.Size())
	for i := range in {
		in[i] = float32(math.Sin(float64(i)))
	}
	prog.Set(x, in)
	g1 := gradOf(t, prog, n.ps.List())
	l1, y1 := prog.Loss(), append([]float32(nil), prog.Value(y)...)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	if prog.Loss() != l1 || !equalF32(y1, prog.Value(y)) || prog.Value(loss)[0] != float32(l1) {
		t.Error("a second run changed the loss or the output")
	}
	for i, p := range n.ps.List() {
		for j, v := range p.Grad {
			if v != 2*g1[i][j] {
				t.Fatalf("%s[%d]: %g after two runs, want %g", p.Name, j, v, 2*g1[i][j])
			}
		}
	}
}

func TestCache(t *testing.T) {
	var ps Params
	l, _ := NewLinear(&ps, "l", 3, 2, false, rand.New(rand.NewPCG(1, 1)))
	builds := 0
	c := NewCache[string, *Program](2)
	build := func(key string) func() (*Program, error) {
		return func() (*Program, error) {
			builds++
			var T int
			if _, err := fmt.Sscanf(key, "T=%d", &T); err != nil {
				return nil, err
			}
			g := NewGraph()
			return g.Compile(nil, l.Forward(g, g.Input("x", 1, 3, T)))
		}
	}
	for _, k := range []string{"T=5", "T=5", "T=7", "T=5", "T=9", "T=5", "T=7"} {
		if _, err := c.Get(k, build(k)); err != nil {
			t.Fatal(err)
		}
	}
	// T=5 built once; T=7 built, evicted by T=9, built again.
	if builds != 4 || c.Len() != 2 {
		t.Errorf("%d builds, %d cached; want 4 and 2", builds, c.Len())
	}
	if _, err := c.Get("bad", build("bad")); err == nil || c.Len() != 2 {
		t.Errorf("bad key: err %v, %d cached", err, c.Len())
	}
	c.Clear()
	if c.Len() != 0 {
		t.Errorf("%d cached after Clear", c.Len())
	}
}

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestConv1dGrad(t *testing.T) {
	tests := []struct {
		B, Cin, Cout, T, K int
		o                  ConvOpts
		bias               bool
	}{
		{2, 3, 4, 11, 3, ConvOpts{}, true},
		{1, 2, 3, 12, 4, ConvOpts{Stride: 2}, false},
		{2, 3, 2, 17, 3, ConvOpts{Stride: 3, Dilation: 2}, true},
		{2, 2, 3, 9, 3, ConvOpts{PadLeft: 2}, true},                            // causal
		{1, 3, 3, 10, 3, ConvOpts{Dilation: 3, PadLeft: 3, PadRight: 3}, true}, // centred, dilated
		{2, 1, 4, 23, 10, ConvOpts{Stride: 5}, false},                          // first encoder layer
		{2, 4, 3, 7, 1, ConvOpts{}, true},                                      // pointwise (Linear)
		{1, 2, 2, 5, 4, ConvOpts{Stride: 2, PadLeft: 3, PadRight: 1}, true},
		{2, 2, 3, 3, 3, ConvOpts{Dilation: 2, PadLeft: 2, PadRight: 2}, true}, // kernel wider than input
		{2, 4, 6, 9, 3, ConvOpts{Groups: 2, PadLeft: 2, PadRight: 1}, true},   // grouped (positional conv)
		{1, 6, 3, 8, 4, ConvOpts{Groups: 3, PadLeft: 2, PadRight: 1}, false},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%d:%+v", i, tc), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 5))
			x := randParam(rng, "x", tc.B, tc.Cin, tc.T)
			w := randParam(rng, "w", tc.Cout, tc.Cin/max(tc.o.Groups, 1), tc.K)
			b := randParam(rng, "b", tc.Cout)
			checkGrad(t, func(g *Graph) *Node {
				var bn *Node
				if tc.bias {
					bn = g.Param(b)
				}
				return g.Conv1d(g.Param(x), g.Param(w), bn, tc.o)
			}, x, w, b)
		})
	}
}

// TestConv1dBackwardOpsGrad checks the gradients of the backward ops
// themselves (so the gradient ops are right as forward ops too).
func TestConv1dBackwardOpsGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := randParam(rng, "x", 2, 3, 10)
	w := randParam(rng, "w", 2, 3, 3)
	dy := randParam(rng, "dy", 2, 2, 5)
	s := ConvOpts{Stride: 2, Dilation: 1, PadLeft: 1}
	var shape = func(g *Graph) *Node { return g.Conv1d(g.Param(x), g.Param(w), nil, s) }
	checkGrad(t, func(g *Graph) *Node {
		y := shape(g)
		k := y.op.k.(*convOp).s
		return g.apply(&convDataOp{s: k}, x.Shape, g.Param(dy), g.Param(w))
	}, dy, w)
	checkGrad(t, func(g *Graph) *Node {
		y := shape(g)
		k := y.op.k.(*convOp).s
		return g.apply(&convWeightOp{s: k}, w.Shape, g.Param(x), g.Param(dy))
	}, x, dy)
}

func TestConv1dTooShort(t *testing.T) {
	g := NewGraph()
	x := g.Input("x", 1, 1, 8)
	w := g.Param(NewParam("w", 4, 1, 10))
	y := g.Conv1d(x, w, nil, ConvOpts{Stride: 5})
	z := g.GELU(y) // placeholders propagate
	if z.Shape() != nil || g.Err() == nil {
		t.Fatalf("shape %v, err %v: want an error for an 8-frame input and a 10-frame kernel", z.Shape(), g.Err())
	}
	if _, err := g.Compile(g.Sum(z)); err == nil {
		t.Fatal("Compile succeeded after a build error")
	}
}

func TestGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := randParam(rng, "x", 2, 3, 7)
	for i := range x.Data {
		x.Data[i] *= 3
	}
	checkGrad(t, func(g *Graph) *Node { return g.GELU(g.Param(x)) }, x)
	checkGrad(t, func(g *Graph) *Node {
		xn := g.Param(x)
		return g.apply(&geluGradOp{}, x.Shape, xn, g.Square(xn))
	}, x)
	// Values against PyTorch's torch.nn.functional.gelu (erf form).
	want := map[float64]float64{-3: -0.0040496993, -1: -0.15865525, 0: 0, 0.5: 0.34573123, 2: 1.9544997}
	for in, w := range want {
		y := make([]float64, 1)
		geluKernel(y, []float64{in})
		if math.Abs(y[0]-w) > 1e-7 {
			t.Errorf("gelu(%g) = %.9g, want %.9g", in, y[0], w)
		}
	}
}

func TestNormGrad(t *testing.T) {
	tests := []struct {
		name    string
		B, C, T int
		groups  int // 0: layer norm
	}{
		{"group norm 1 group", 2, 4, 5, 1},
		{"group norm C groups", 2, 4, 5, 4},
		{"group norm 2 groups", 3, 6, 4, 2},
		{"layer norm", 2, 5, 6, 0},
		{"layer norm one frame", 1, 3, 1, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 77))
			x := randParam(rng, "x", tc.B, tc.C, tc.T)
			gamma := randParam(rng, "gamma", tc.C)
			beta := randParam(rng, "beta", tc.C)
			checkGrad(t, func(g *Graph) *Node {
				if tc.groups == 0 {
					return g.LayerNorm(g.Param(x), g.Param(gamma), g.Param(beta), 1e-5)
				}
				return g.GroupNorm(g.Param(x), g.Param(gamma), g.Param(beta), tc.groups, 1e-5)
			}, x, gamma, beta)
		})
	}
}

// TestNormValues checks the normalised output against a direct computation.
func TestNormValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	B, C, T := 2, 4, 3
	x := randParam(rng, "x", B, C, T)
	gamma, beta := NewParam("g", C), NewParam("b", C)
	for c := range C {
		gamma.Data[c], beta.Data[c] = 1, 0
	}
	g := NewGraph()
	xn := g.Param(x)
	gn := g.GroupNorm(xn, g.Param(gamma), g.Param(beta), 2, 1e-5)
	ln := g.LayerNorm(xn, g.Param(gamma), g.Param(beta), 1e-5)
	prog, err := g.Compile(nil, gn, ln)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	at := func(b, c, t int) float64 { return float64(x.Data[(b*C+c)*T+t]) }
	for b := range B {
		for grp := range 2 { // group norm: channels 2*grp, 2*grp+1, all frames
			var s, s2 float64
			for c := 2 * grp; c < 2*grp+2; c++ {
				for t := range T {
					s += at(b, c, t)
				}
			}
			m := s / float64(2*T)
			for c := 2 * grp; c < 2*grp+2; c++ {
				for t := range T {
					s2 += (at(b, c, t) - m) * (at(b, c, t) - m)
				}
			}
			sd := math.Sqrt(s2/float64(2*T) + 1e-5)
			for c := 2 * grp; c < 2*grp+2; c++ {
				for tt := range T {
					got := float64(prog.Value(gn)[(b*C+c)*T+tt])
					if want := (at(b, c, tt) - m) / sd; math.Abs(got-want) > 1e-5 {
						t.Errorf("group norm [%d %d %d] = %g, want %g", b, c, tt, got, want)
					}
				}
			}
		}
		for tt := range T { // layer norm: all channels of one frame
			var s, s2 float64
			for c := range C {
				s += at(b, c, tt)
			}
			m := s / float64(C)
			for c := range C {
				s2 += (at(b, c, tt) - m) * (at(b, c, tt) - m)
			}
			sd := math.Sqrt(s2/float64(C) + 1e-5)
			for c := range C {
				got := float64(prog.Value(ln)[(b*C+c)*T+tt])
				if want := (at(b, c, tt) - m) / sd; math.Abs(got-want) > 1e-5 {
					t.Errorf("layer norm [%d %d %d] = %g, want %g", b, c, tt, got, want)
				}
			}
		}
	}
}

func TestDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := randParam(rng, "x", 2, 3, 8)
	checkGrad(t, func(g *Graph) *Node { return g.GELU(g.Dropout(g.Param(x), 0.3)) }, x)

	run := func(training bool, seed uint64) ([]float32, []float32) {
		g := NewGraph()
		g.Training, g.Seed = training, seed
		in := g.Input("x", 4, 16, 500)
		y := g.Dropout(in, 0.25)
		prog, err := g.Compile(nil, y)
		if err != nil {
			t.Fatal(err)
		}
		ones := make([]float32, in.Size())
		for i := range ones {
			ones[i] = 1
		}
		prog.Set(in, ones)
		var out [2][]float32
		for r := range out {
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			out[r] = append([]float32(nil), prog.Value(y)...)
		}
		return out[0], out[1]
	}
	a1, a2 := run(true, 1)
	b1, _ := run(true, 1)
	for i := range a1 {
		if a1[i] != b1[i] {
			t.Fatal("same seed, different masks")
		}
	}
	var zeros, same int
	for i, v := range a1 {
		switch v {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("value %g, want 0 or 1/0.75", v)
		}
		if v == a2[i] {
			same++
		}
	}
	if frac := float64(zeros) / float64(len(a1)); math.Abs(frac-0.25) > 0.01 {
		t.Errorf("dropped %.4f of the elements, want 0.25", frac)
	}
	if same == len(a1) {
		t.Error("two runs drew the same mask")
	}
	e1, _ := run(false, 1)
	for _, v := range e1 {
		if v != 1 {
			t.Fatal("dropout active in inference mode")
		}
	}
}

// TestGELU32 checks the float32 path (blocked conversion to float64)
// against the float64 kernels, to float32 accuracy.
func TestGELU32(t *testing.T) {
	var xs []float32
	for v := -12.0; v <= 12; v += 1.0 / 64 {
		xs = append(xs, float32(v))
	}
	y, d := make([]float32, len(xs)), make([]float32, len(xs))
	ones := make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	gelu32(y, xs)
	geluGrad32(d, xs, ones)
	for i, x := range xs {
		u := float64(x)
		want := make([]float64, 1)
		geluKernel(want, []float64{u})
		wantD := make([]float64, 1)
		geluGradKernel(wantD, []float64{u}, []float64{1})
		if e := math.Abs(float64(y[i]) - want[0]); e > 2e-7*math.Max(1, math.Abs(u)) {
			t.Errorf("gelu(%g) = %.9g, want %.9g", u, y[i], want[0])
		}
		if e := math.Abs(float64(d[i]) - wantD[0]); e > 3e-7*math.Max(1, math.Abs(u)) {
			t.Errorf("gelu'(%g) = %.9g, want %.9g", u, d[i], wantD[0])
		}
	}
}

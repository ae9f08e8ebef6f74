package quantizer

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9a27)) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"zero is base", Config{}, nil},
		{"tiny", Tiny(), nil},
		{"one group", Config{Groups: 1, Codes: 2, Dim: 3}, nil},
		{"negative groups", Config{Groups: -1}, []string{"groups -1"}},
		{"one code", Config{Codes: 1}, []string{"codes 1"}},
		{"dim not a multiple", Config{Groups: 3, Dim: 256}, []string{"dim 256", "groups 3"}},
		{"end above start", Config{TempStart: 1, TempEnd: 2}, []string{"start 1, end 2"}},
		{"negative temperature", Config{TempEnd: -0.5}, []string{"end -0.5"}},
		{"decay", Config{TempDecay: 1.5}, []string{"temp_decay 1.5"}},
		{"all at once", Config{Groups: -2, Codes: -3, TempDecay: -1}, []string{"groups -2", "codes -3", "temp_decay -1"}},
		{"largest", Config{Groups: 64, Codes: 1024, Dim: 64}, nil},
		{"many groups", Config{Groups: 100000, Dim: 100000}, []string{"groups 100000: want 1 to 64"}},
		{"many codes", Config{Codes: 1 << 40}, []string{"codes 1099511627776: want 2 to 65536"}},
		{"wide", Config{Dim: 1 << 20}, []string{"dim 1048576"}},
		{"too many logits", Config{Groups: 64, Codes: 1 << 16, Dim: 64}, []string{"4194304 logits"}},
		{"codebooks too large", Config{Groups: 2, Codes: 1 << 16, Dim: 8192}, []string{"536870912 codebook values"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, nerr := New(tc.cfg, 8, newRNG(1))
			if tc.want == nil {
				if err != nil || nerr != nil {
					t.Fatalf("Validate: %v; New: %v", err, nerr)
				}
				return
			}
			if err == nil || nerr == nil {
				t.Fatalf("accepted %+v", tc.cfg)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "quantizer: ") {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := New(Tiny(), 0, newRNG(1)); err == nil {
		t.Error("New accepted 0 input channels")
	}
}

func TestParams(t *testing.T) {
	q, err := New(Config{}, 64, newRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"quantizer.weight_proj.weight": {640, 64},
		"quantizer.weight_proj.bias":   {640},
		"quantizer.codevectors":        {640, 128},
	}
	if len(q.Params()) != len(want) {
		t.Fatalf("%d params, want %d", len(q.Params()), len(want))
	}
	for _, p := range q.Params() {
		if s, ok := want[p.Name]; !ok || len(s) != len(p.Shape) || s[0] != p.Shape[0] || s[1%len(s)] != p.Shape[1%len(s)] {
			t.Errorf("param %s %v, want %v", p.Name, p.Shape, s)
		}
	}
	// ParamShapes lists the same, without allocating.
	shapes := Config{}.ParamShapes(nn.Dim{Size: 64, Field: "in"})
	if len(shapes) != len(q.Params()) {
		t.Fatalf("ParamShapes lists %d parameters, New makes %d", len(shapes), len(q.Params()))
	}
	for i, p := range q.Params() {
		if s := shapes[i]; s.Name != p.Name || !slices.Equal(s.Shape(), p.Shape) {
			t.Errorf("ParamShapes lists %s %v, New makes %s %v", s.Name, s.Shape(), p.Name, p.Shape)
		}
	}
	// fairseq: weight_proj N(0, 1), bias 0, codevectors U(0, 1).
	var m, v float64
	for _, x := range q.Proj.Weight.Data {
		m += float64(x)
		v += float64(x) * float64(x)
	}
	n := float64(q.Proj.Weight.Size())
	if m /= n; math.Abs(m) > 0.02 || math.Abs(v/n-1) > 0.03 {
		t.Errorf("weight_proj mean %g, variance %g: want N(0, 1)", m, v/n)
	}
	for _, x := range q.Proj.Bias.Data {
		if x != 0 {
			t.Fatalf("weight_proj bias %g, want 0", x)
		}
	}
	m = 0
	for _, x := range q.Codevectors.Data {
		if x < 0 || x >= 1 {
			t.Fatalf("codevector value %g outside [0, 1)", x)
		}
		m += float64(x)
	}
	if m /= float64(q.Codevectors.Size()); math.Abs(m-0.5) > 0.01 {
		t.Errorf("codevectors mean %g, want 0.5", m)
	}
}

func TestTemperature(t *testing.T) {
	base, _ := New(Config{}, 4, newRNG(1))
	tiny, _ := New(Tiny(), 4, newRNG(1))
	tests := []struct {
		q    *Quantizer
		step int64
		want float64
	}{
		{base, 0, 2},
		{base, 1, 2 * 0.999995},
		{base, 100000, 2 * math.Pow(0.999995, 100000)}, // 1.2131
		{base, 277000, 2 * math.Pow(0.999995, 277000)}, // just above 0.5
		{base, 278000, 0.5},
		{base, 1 << 40, 0.5},
		{tiny, 0, 2},
		{tiny, 1000, 2 * math.Pow(0.9995, 1000)}, // 1.2131
		{tiny, 3000, 0.5},
	}
	for _, tc := range tests {
		if got := tc.q.Temperature(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v: Temperature(%d) = %.10g, want %.10g", tc.q.Config, tc.step, got, tc.want)
		}
	}
	if got := base.Temperature(100000); math.Abs(got-1.2130597) > 1e-6 {
		t.Errorf("Temperature(100000) = %g, want 1.2130597 (2 exp(-0.50000125))", got)
	}
	if got := base.Temperature(277000); got <= 0.5 || got > 0.501 {
		t.Errorf("Temperature(277000) = %g, want just above 0.5", got)
	}
}

// designed returns a quantizer with G=2 groups of V codes whose logits are
// 30 * z (z of V channels) in both groups.
func designed(t *testing.T, V int) *Quantizer {
	q, err := New(Config{Groups: 2, Codes: V, Dim: 6}, V, newRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	clear(q.Proj.Weight.Data)
	for g := range 2 {
		for v := range V {
			q.Proj.Weight.Data[(g*V+v)*V+v] = 30
		}
	}
	return q
}

// TestPerplexity: uniform use of the codes gives G*V, one code per group
// gives G; with Diversity's weights, frames of weight 0 do not count.
func TestPerplexity(t *testing.T) {
	const V, B = 8, 2
	tests := []struct {
		name     string
		collapse bool
		weights  bool
		want     float64
	}{
		{"uniform", false, false, 2 * V},
		{"collapsed", true, false, 2},
		{"uniform on weighted frames", false, true, 2 * V},
		{"collapsed on weighted frames", true, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := designed(t, V)
			g := nn.NewGraph()
			z := g.Input("z", B, V, V)
			o := q.Forward(g, z, false)
			var div *nn.Node
			var w *nn.Node
			if tc.weights {
				w = g.Input("w", B, 1, V)
				div = q.Diversity(g, o, w)
			}
			p, err := g.Compile(nil, o.Q)
			if err != nil {
				t.Fatal(err)
			}
			zs := make([]float32, B*V*V)
			ws := make([]float32, B*V)
			for tt := range V { // sample 0: frame t uses code t (or 0); sample 1: code 3
				code := tt
				if tc.collapse {
					code = 0
				}
				zs[code*V+tt] = 1
				ws[tt] = 1
				zs[(V+3)*V+tt] = 1
			}
			p.Set(z, zs)
			if w != nil {
				p.Set(w, ws)
			}
			if err := p.Run(); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if !tc.weights && !tc.collapse {
				// sample 1 always picks code 3: usage 1/16 each, 9/16 for code 3.
				h := -(7*(1.0/16)*math.Log(1.0/16) + 9.0/16*math.Log(9.0/16))
				want = 2 * math.Exp(h)
			} else if !tc.weights {
				want = 2 * math.Exp(-2*0.5*math.Log(0.5)) // codes 0 and 3, half each
			}
			got := q.Perplexity(p, o)
			if math.Abs(got-want) > 1e-4*want {
				t.Errorf("perplexity %g, want %g", got, want)
			}
			if div != nil {
				if pp := q.ProbPerplexity(o); math.Abs(pp-want) > 1e-3*want {
					t.Errorf("prob perplexity %g, want %g", pp, want)
				}
			}
		})
	}
}

// TestInferenceOneHot: at inference every frame of q is, in each group,
// exactly the codevector of the argmax of the logits.
func TestInferenceOneHot(t *testing.T) {
	cfg := Config{Groups: 2, Codes: 16, Dim: 8}
	q, err := New(cfg, 12, newRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 3, 7
	G, V, D := cfg.Groups, cfg.Codes, cfg.Dim/cfg.Groups
	g := nn.NewGraph()
	z := g.Input("z", B, 12, T)
	o := q.Forward(g, z, false)
	if o.Noise != nil {
		t.Fatal("inference Out has a noise input")
	}
	p, err := g.Compile(nil, o.Q, o.Logits)
	if err != nil {
		t.Fatal(err)
	}
	zs := make([]float32, B*12*T)
	for i := range zs {
		zs[i] = float32(newRNG(uint64(i)).NormFloat64())
	}
	p.Set(z, zs)
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	qs, ls := p.Value(o.Q), p.Value(o.Logits)
	seen := map[int]bool{}
	for b := range B {
		for gr := range G {
			for tt := range T {
				best := 0
				for v := range V {
					if ls[((b*G+gr)*V+v)*T+tt] > ls[((b*G+gr)*V+best)*T+tt] {
						best = v
					}
				}
				seen[gr*V+best] = true
				for d := range D {
					if got, want := qs[((b*G+gr)*D+d)*T+tt], q.Codevectors.Data[(gr*V+best)*D+d]; got != want {
						t.Fatalf("q[%d,%d,%d] = %g, want codevector %d's %g", b, gr*D+d, tt, got, gr*V+best, want)
					}
				}
			}
		}
	}
	if len(seen) < 4 {
		t.Errorf("only %d codes chosen over %d frames: the test does not exercise the argmax", len(seen), B*T)
	}
}

// TestTrainStep: a training step selects argmax(logits + noise), the same
// seed draws the same noise and codes, gradients reach the logits layer
// (straight-through) and the chosen codevectors only, and the temperature
// scales the logits gradient.
func TestTrainStep(t *testing.T) {
	cfg := Config{Groups: 2, Codes: 16, Dim: 8}
	q, err := New(cfg, 12, newRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 2, 5
	g := nn.NewGraph()
	z := g.Input("z", B, 12, T)
	o := q.Forward(g, z, true)
	r := g.Input("r", B, cfg.Dim, T)
	loss := g.Sum(g.Mul(o.Q, r))
	p, err := g.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	zs, rs := make([]float32, B*12*T), make([]float32, B*cfg.Dim*T)
	rng := newRNG(6)
	for i := range zs {
		zs[i] = float32(rng.NormFloat64())
	}
	for i := range rs {
		rs[i] = float32(rng.NormFloat64())
	}
	p.Set(z, zs)
	p.Set(r, rs)
	step := func(seed uint64, temp float64) (codes []int32, gw []float32) {
		for _, pr := range q.Params() {
			pr.ZeroGrad()
		}
		q.FillNoise(p, o, newRNG(seed))
		q.SetTemperature(o, temp)
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]int32(nil), q.Codes(o)...), append([]float32(nil), q.Proj.Weight.Grad...)
	}
	c1, g1 := step(7, 2)
	used := map[int]bool{}
	for i, c := range c1 {
		used[(i/T%cfg.Groups)*cfg.Codes+int(c)] = true
	}
	D := cfg.Dim / cfg.Groups
	for row := range cfg.Groups * cfg.Codes {
		var n float64
		for _, v := range q.Codevectors.Grad[row*D : (row+1)*D] {
			n += math.Abs(float64(v))
		}
		if (n != 0) != used[row] {
			t.Errorf("codevector %d: gradient |%g|, chosen %t", row, n, used[row])
		}
	}
	c2, g2 := step(7, 1)
	c3, _ := step(8, 2)
	same := func(a, b []int32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if !same(c1, c2) {
		t.Error("the same noise seed chose different codes")
	}
	if same(c1, c3) {
		t.Error("another noise seed chose the same codes")
	}
	var n1, n2 float64
	for i := range g1 {
		n1 += float64(g1[i]) * float64(g1[i])
		n2 += float64(g2[i]) * float64(g2[i])
	}
	if !(n1 > 0) || math.Abs(n1-n2) < 1e-6*n1 {
		t.Errorf("weight_proj gradient norms^2 %g at temperature 2 and %g at 1: want non-zero and different", n1, n2)
	}
}

// TestFillNoise: the noise is Gumbel(0, 1): mean Euler's gamma, variance
// pi^2/6.
func TestFillNoise(t *testing.T) {
	q, _ := New(Tiny(), 4, newRNG(1))
	g := nn.NewGraph()
	o := q.Forward(g, g.Input("z", 4, 4, 250), true)
	p, err := g.Compile(nil, o.Noise)
	if err != nil {
		t.Fatal(err)
	}
	q.FillNoise(p, o, newRNG(9))
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	var m, v float64
	xs := p.Value(o.Noise)
	for _, x := range xs {
		m += float64(x)
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (float64(x) - m) * (float64(x) - m)
	}
	v /= float64(len(xs))
	if math.Abs(m-0.5772157) > 0.02 || math.Abs(v-math.Pi*math.Pi/6) > 0.05 {
		t.Errorf("noise mean %g, variance %g: want 0.5772, 1.6449", m, v)
	}
}

// TestDiversityGradient compares the diversity loss's gradient with
// respect to weight_proj with central differences of the float32 program
// (the float64 check of the op itself is in package nn; this one checks the
// wiring). The step 1e-2 keeps float32 rounding below 1e-5 of the
// derivative; the truncation error of the smooth loss is of order step^2.
func TestDiversityGradient(t *testing.T) {
	cfg := Config{Groups: 2, Codes: 5, Dim: 4}
	q, err := New(cfg, 6, newRNG(10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range q.Proj.Weight.Data {
		q.Proj.Weight.Data[i] *= 0.3 // a soft regime, away from saturation
	}
	const B, T = 2, 6
	g := nn.NewGraph()
	z := g.Input("z", B, 6, T)
	w := g.Input("w", B, 1, T)
	o := q.Forward(g, z, true)
	loss := q.Diversity(g, o, w)
	p, err := g.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	rng := newRNG(11)
	zs, ws := make([]float32, B*6*T), make([]float32, B*T)
	for i := range zs {
		zs[i] = float32(rng.NormFloat64())
	}
	for i := range ws {
		ws[i] = float32(i % 3 % 2)
	}
	p.Set(z, zs)
	p.Set(w, ws)
	q.FillNoise(p, o, rng)
	run := func() float64 {
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return p.Loss()
	}
	for _, pr := range q.Params() {
		pr.ZeroGrad()
	}
	run()
	grad := append([]float32(nil), q.Proj.Weight.Grad...)
	var scale float64
	for _, v := range grad {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale == 0 {
		t.Fatal("zero gradient")
	}
	const h = 1e-2
	for i := range q.Proj.Weight.Data {
		orig := q.Proj.Weight.Data[i]
		q.Proj.Weight.Data[i] = orig + h
		up := run()
		q.Proj.Weight.Data[i] = orig - h
		down := run()
		q.Proj.Weight.Data[i] = orig
		num := (up - down) / (2 * h)
		if d := math.Abs(num - float64(grad[i])); d > 2e-3*scale {
			t.Errorf("weight_proj[%d]: gradient %g, finite differences %g", i, grad[i], num)
		}
	}
}

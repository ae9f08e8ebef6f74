package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func paramWith(name string, data ...float32) *Param {
	p := NewParam(name, len(data))
	copy(p.Data, data)
	return p
}

func TestAdamFirstStep(t *testing.T) {
	// After one step m̂ = g and v̂ = g², so the update is lr*g/(|g|+eps).
	p := paramWith("w", 1, -2, 0.5, 3)
	grads := []float32{0.1, -4, 1e-9, 0}
	copy(p.Grad, grads)
	a, err := NewAdam([]*Param{p}, AdamConfig{Eps: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	const lr = 0.01
	if err := a.Step(lr); err != nil {
		t.Fatal(err)
	}
	for i, x0 := range []float64{1, -2, 0.5, 3} {
		g := float64(grads[i])
		want := x0 - lr*g/(math.Abs(g)+1e-8)
		if math.Abs(float64(p.Data[i])-want) > 1e-7 {
			t.Errorf("w[%d] = %.9g, want %.9g", i, p.Data[i], want)
		}
		if p.Grad[i] != 0 {
			t.Errorf("grad[%d] = %g after Step, want 0", i, p.Grad[i])
		}
	}
	if a.Steps() != 1 {
		t.Errorf("Steps() = %d, want 1", a.Steps())
	}
}

func TestAdamLRScale(t *testing.T) {
	// The first step is lr*g/(|g|+eps): a parameter with LRScale 0.25
	// moves a quarter as far as one without.
	p, q := paramWith("p", 1, -2), paramWith("q", 1, -2)
	q.LRScale = 0.25
	for _, x := range []*Param{p, q} {
		copy(x.Grad, []float32{0.5, -3})
	}
	a, err := NewAdam([]*Param{p, q}, AdamConfig{Eps: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(0.01); err != nil {
		t.Fatal(err)
	}
	for i, x0 := range []float64{1, -2} {
		dp, dq := float64(p.Data[i])-x0, float64(q.Data[i])-x0
		if math.Abs(dq-0.25*dp) > 1e-7 || math.Abs(math.Abs(dp)-0.01) > 1e-6 {
			t.Errorf("element %d moved %.9g with LRScale 0.25 and %.9g without, want a quarter of 0.01", i, dq, dp)
		}
	}
}

func TestAdamMatchesTextbook(t *testing.T) {
	// Three steps against m̂/(sqrt(v̂)+eps) with the moments written out by
	// hand, betas (0.9, 0.98) as in wav2vec 2.0.
	p := paramWith("w", 0.5)
	a, _ := NewAdam([]*Param{p}, AdamConfig{Beta1: 0.9, Beta2: 0.98, Eps: 1e-6})
	gs := []float64{0.2, -0.1, 0.4}
	x, m, v := 0.5, 0.0, 0.0
	for k, g := range gs {
		p.Grad[0] = float32(g)
		if err := a.Step(0.1); err != nil {
			t.Fatal(err)
		}
		n := float64(k + 1)
		m = 0.9*m + 0.1*g
		v = 0.98*v + 0.02*g*g
		mh, vh := m/(1-math.Pow(0.9, n)), v/(1-math.Pow(0.98, n))
		x -= 0.1 * mh / (math.Sqrt(vh) + 1e-6)
		if math.Abs(float64(p.Data[0])-x) > 1e-6 {
			t.Errorf("step %d: w = %.9g, want %.9g", k+1, p.Data[0], x)
		}
	}
}

func TestAdamWDecayClosedForm(t *testing.T) {
	// With zero gradients the moments stay zero, so AdamW only decays:
	// w_t = w_0 (1 - lr*wd)^t, and an excluded parameter does not move.
	w := paramWith("layer.weight", 2, -3)
	b := paramWith("layer.bias", 2, -3)
	norm := paramWith("layer_norm.weight", 2)
	a, err := NewAdamW([]*Param{w, b, norm}, AdamConfig{WeightDecay: 0.1, NoDecay: NoDecayBiasNorm})
	if err != nil {
		t.Fatal(err)
	}
	const lr, steps = 0.05, 20
	for range steps {
		if err := a.Step(lr); err != nil {
			t.Fatal(err)
		}
	}
	f := math.Pow(1-lr*0.1, steps)
	for i, x0 := range []float64{2, -3} {
		if got, want := float64(w.Data[i]), x0*f; math.Abs(got-want) > 1e-6 {
			t.Errorf("decayed w[%d] = %.9g, want %.9g", i, got, want)
		}
		if got := float64(b.Data[i]); got != x0 {
			t.Errorf("bias[%d] = %g, want unchanged %g", i, got, x0)
		}
	}
	if norm.Data[0] != 2 {
		t.Errorf("norm weight = %g, want unchanged 2", norm.Data[0])
	}

	// Coupled L2 (Adam) turns the decay into a gradient: first step moves by lr.
	c := paramWith("w", 2)
	ca, _ := NewAdam([]*Param{c}, AdamConfig{WeightDecay: 0.1})
	ca.Step(lr)
	if got, want := float64(c.Data[0]), 2-lr*0.2/(0.2+1e-8); math.Abs(got-want) > 1e-7 {
		t.Errorf("Adam L2 step: %g, want %g", got, want)
	}
}

func TestNoDecayBiasNorm(t *testing.T) {
	for name, want := range map[string]bool{
		"encoder.conv.0.weight": false, "encoder.conv.0.bias": true, "head.b": true,
		"encoder.layer_norm.weight": true, "encoder.norm0.weight": true, "ctx.ln.g": true,
		"quantizer.codebook": false, "mask_emb": false,
	} {
		if got := NoDecayBiasNorm(name); got != want {
			t.Errorf("NoDecayBiasNorm(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAdamFrozen(t *testing.T) {
	f := paramWith("body", 1)
	h := paramWith("head", 1)
	f.Frozen = true
	a, _ := NewAdamW([]*Param{f, h}, AdamConfig{WeightDecay: 0.5})
	for range 3 {
		f.Grad[0], h.Grad[0] = 1, 1
		a.Step(0.1)
	}
	if f.Data[0] != 1 || f.Grad[0] != 0 {
		t.Errorf("frozen param moved to %g (grad %g)", f.Data[0], f.Grad[0])
	}
	s := a.State()
	if s.Steps["body"] != 0 || s.Steps["head"] != 3 {
		t.Errorf("step counts %v, want body 0 head 3", s.Steps)
	}
	// Unfrozen, its first update is a fresh bias-corrected step of size lr.
	f.Frozen = false
	f.Grad[0] = 1
	a.Step(0.1)
	if want := 1*(1-0.1*0.5) - 0.1/(1+1e-8); math.Abs(float64(f.Data[0])-want) > 1e-7 {
		t.Errorf("first step after unfreezing: %g, want %g", f.Data[0], want)
	}
}

func TestAdamNonFiniteGrad(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		p := paramWith("a", 1, 2)
		q := paramWith("b", 3)
		a, _ := NewAdam([]*Param{p, q}, AdamConfig{})
		p.Grad[0], q.Grad[0] = 0.5, bad
		err := a.Step(0.1)
		if !errors.Is(err, ErrNonFiniteGrad) {
			t.Errorf("grad %g: err %v, want ErrNonFiniteGrad", bad, err)
		}
		if p.Data[0] != 1 || q.Data[0] != 3 || p.Grad[0] != 0 || q.Grad[0] != 0 || a.Steps() != 0 {
			t.Errorf("grad %g: params %v %v grads %v %v steps %d: want unchanged, zero grads", bad, p.Data, q.Data, p.Grad, q.Grad, a.Steps())
		}
	}
}

func TestAdamBadLR(t *testing.T) {
	p := paramWith("a", 1)
	a, _ := NewAdam([]*Param{p}, AdamConfig{})
	for _, lr := range []float64{math.NaN(), math.Inf(1), -1e-3} {
		p.Grad[0] = 1
		if err := a.Step(lr); err == nil || p.Data[0] != 1 || p.Grad[0] != 0 {
			t.Errorf("lr %g: err %v, param %g, grad %g: want an error, no update, zero grad", lr, err, p.Data[0], p.Grad[0])
		}
	}
}

func TestAdamConfigValidate(t *testing.T) {
	for _, cfg := range []AdamConfig{
		{Beta1: 1}, {Beta2: -0.1}, {Eps: -1}, {WeightDecay: -0.01}, {WeightDecay: math.NaN()},
	} {
		if _, err := NewAdam(nil, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	if _, err := NewAdam([]*Param{NewParam("x", 1), NewParam("x", 2)}, AdamConfig{}); err == nil {
		t.Error("duplicate names: no error")
	}
}

func TestClipGradNorm(t *testing.T) {
	a := paramWith("a", 0, 0)
	b := paramWith("b", 0)
	fr := paramWith("frozen", 0)
	fr.Frozen = true
	params := []*Param{a, b, fr}
	tests := []struct {
		name    string
		grads   [4]float32 // a0 a1 b0 frozen
		max     float64
		norm    float64
		clipped [3]float32
	}{
		{"clip", [4]float32{3, 0, 4, 100}, 1, 5, [3]float32{0.6, 0, 0.8}},
		{"below", [4]float32{0.3, 0, 0.4, 100}, 1, 0.5, [3]float32{0.3, 0, 0.4}},
		{"measure only", [4]float32{3, 0, 4, 100}, 0, 5, [3]float32{3, 0, 4}},
		{"nan", [4]float32{float32(math.NaN()), 1, 2, 0}, 1, math.NaN(), [3]float32{float32(math.NaN()), 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.Grad[0], a.Grad[1], b.Grad[0], fr.Grad[0] = tc.grads[0], tc.grads[1], tc.grads[2], tc.grads[3]
			norm := ClipGradNorm(params, tc.max)
			if math.IsNaN(tc.norm) != math.IsNaN(norm) || (!math.IsNaN(norm) && math.Abs(norm-tc.norm) > 1e-6) {
				t.Errorf("norm %g, want %g", norm, tc.norm)
			}
			got := []float32{a.Grad[0], a.Grad[1], b.Grad[0]}
			for i, g := range got {
				w := tc.clipped[i]
				if (math.IsNaN(float64(w)) != math.IsNaN(float64(g))) || math.Abs(float64(g-w)) > 1e-6 {
					t.Errorf("grad %d = %g, want %g", i, g, w)
				}
			}
			if fr.Grad[0] != tc.grads[3] {
				t.Errorf("frozen grad changed to %g", fr.Grad[0])
			}
		})
	}
}

// TestAdamResumeBitIdentical trains 10 steps straight, and 5 steps, a
// checkpoint, a fresh model and optimiser loaded from it, and 5 more: the
// weights must agree bit for bit.
func TestAdamResumeBitIdentical(t *testing.T) {
	newModel := func() []*Param {
		rng := rand.New(rand.NewPCG(9, 9))
		ps := []*Param{NewParam("enc.weight", 3, 4), NewParam("enc.bias", 3), NewParam("head.weight", 2, 3)}
		for _, p := range ps {
			for i := range p.Data {
				p.Data[i] = float32(rng.NormFloat64())
			}
		}
		return ps
	}
	cfg := AdamConfig{Beta1: 0.9, Beta2: 0.98, Eps: 1e-6, WeightDecay: 0.01, NoDecay: NoDecayBiasNorm}
	sched := TriStage{Peak: 1e-2, Total: 10}
	gradRNG := func() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }
	train := func(ps []*Param, a *Adam, rng *rand.Rand, from, to int) {
		for step := from; step < to; step++ {
			for _, p := range ps {
				for i := range p.Grad {
					p.Grad[i] = float32(rng.NormFloat64())
				}
			}
			ClipGradNorm(ps, 1)
			if err := a.Step(sched.LR(step + 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	straight := newModel()
	sa, _ := NewAdamW(straight, cfg)
	train(straight, sa, gradRNG(), 0, 10)

	half := newModel()
	ha, _ := NewAdamW(half, cfg)
	rng := gradRNG()
	train(half, ha, rng, 0, 5)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	extra, meta := map[string][]float32{}, map[string]string{}
	if err := ha.SaveTo(extra, meta); err != nil {
		t.Fatal(err)
	}
	if err := SaveCheckpoint(path, half, extra, meta); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	resumed := newModel()
	for _, p := range resumed {
		p.Data[0] += 1 // make sure the load overwrites
	}
	if err := ck.LoadInto(resumed, true); err != nil {
		t.Fatal(err)
	}
	ra, _ := NewAdamW(resumed, cfg)
	if err := ra.LoadFrom(ck); err != nil {
		t.Fatal(err)
	}
	train(resumed, ra, rng, 5, 10)
	for i, p := range straight {
		for j := range p.Data {
			if math.Float32bits(p.Data[j]) != math.Float32bits(resumed[i].Data[j]) {
				t.Fatalf("%s[%d]: straight %g, resumed %g", p.Name, j, p.Data[j], resumed[i].Data[j])
			}
		}
	}
	if !slices.Equal(sa.State().M["enc.weight"], ra.State().M["enc.weight"]) {
		t.Error("first moments differ after resume")
	}
}

func TestAdamSetStateErrors(t *testing.T) {
	a, _ := NewAdam([]*Param{NewParam("x", 2), NewParam("y", 1)}, AdamConfig{})
	s := a.State()
	delete(s.M, "y")
	s.V["x"] = []float32{1}
	err := a.SetState(s)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"parameter y missing", "parameter x: moments of size 2 and 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestAdamLoadFromErrors(t *testing.T) {
	dir := t.TempDir()
	p := paramWith("w", 1, 2)
	a, _ := NewAdam([]*Param{p}, AdamConfig{})
	extra, meta := map[string][]float32{}, map[string]string{}
	if err := a.SaveTo(extra, meta); err != nil {
		t.Fatal(err)
	}
	withState := filepath.Join(dir, "with")
	if err := SaveCheckpoint(withState, []*Param{p}, extra, meta); err != nil {
		t.Fatal(err)
	}
	without := filepath.Join(dir, "without")
	if err := SaveCheckpoint(without, []*Param{p}, nil, nil); err != nil {
		t.Fatal(err)
	}
	other, _ := NewAdam([]*Param{paramWith("w", 1), paramWith("v", 1)}, AdamConfig{})
	tests := []struct {
		path string
		a    *Adam
		want []string
	}{
		{without, a, []string{"nn: " + without + `: metadata "optimizer" missing`}},
		{withState, other, []string{
			"nn: " + withState + ": adam state: parameter w: moments of size 2 and 2, want 1",
			"nn: " + withState + ": adam state: parameter v missing",
		}},
	}
	for _, tc := range tests {
		ck, err := LoadCheckpoint(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		err = tc.a.LoadFrom(ck)
		if err == nil {
			t.Fatalf("%s: no error", tc.path)
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(tc.want) {
			t.Errorf("error %q: want %d lines", err, len(tc.want))
		}
		for _, w := range tc.want {
			if !slices.Contains(lines, w) {
				t.Errorf("error %q lacks line %q", err, w)
			}
		}
	}
}

// BenchmarkAdamStep: one AdamW update of 4 million parameters.
func BenchmarkAdamStep(b *testing.B) {
	ps := []*Param{NewParam("a.weight", 1024, 2048), NewParam("b.weight", 2048, 1024), NewParam("b.bias", 1024)}
	a, _ := NewAdamW(ps, AdamConfig{WeightDecay: 0.01, NoDecay: NoDecayBiasNorm})
	n := 0
	for _, p := range ps {
		n += p.Size()
	}
	for b.Loop() {
		for _, p := range ps {
			for i := range p.Grad {
				p.Grad[i] = 1e-3
			}
		}
		if err := a.Step(1e-3); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "params/s")
}

// TestDropGrads: a parameter without its gradient gets one back from the
// optimiser and from a program that computes it.
func TestDropGrads(t *testing.T) {
	p := NewParam("p", 3)
	DropGrads([]*Param{p})
	if p.Grad != nil {
		t.Fatal("gradient kept")
	}
	if _, err := NewAdam([]*Param{p}, AdamConfig{}); err != nil || len(p.Grad) != 3 {
		t.Fatalf("NewAdam: %v, grad %v", err, p.Grad)
	}
	DropGrads([]*Param{p})
	g := NewGraph()
	if _, err := g.Compile(g.Sum(g.Param(p))); err != nil || len(p.Grad) != 3 {
		t.Fatalf("Compile: %v, grad %v", err, p.Grad)
	}
}

package encoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xe1c0de)) }

func TestParamNames(t *testing.T) {
	cfg := Tiny()
	m, err := New(cfg, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	type ps struct {
		name  string
		shape []int
	}
	var want []ps
	in := 1
	for i, k := range cfg.ConvKernels {
		want = append(want, ps{fmt.Sprintf("encoder.feature.conv.%d.weight", i), []int{128, in, k}},
			ps{fmt.Sprintf("encoder.feature.norm.%d.weight", i), []int{128}},
			ps{fmt.Sprintf("encoder.feature.norm.%d.bias", i), []int{128}})
		in = 128
	}
	nFeature := len(want)
	want = append(want, ps{"encoder.feature_norm.weight", []int{128}}, ps{"encoder.feature_norm.bias", []int{128}},
		ps{"encoder.proj.weight", []int{256, 128}}, ps{"encoder.proj.bias", []int{256}}, ps{"encoder.mask_emb", []int{256}})
	for i := range cfg.ContextDilations {
		p := fmt.Sprintf("encoder.context.%d.", i)
		want = append(want, ps{p + "conv.weight", []int{256, 256, 3}}, ps{p + "conv.bias", []int{256}},
			ps{p + "norm.weight", []int{256}}, ps{p + "norm.bias", []int{256}})
	}
	want = append(want, ps{"encoder.context.norm.weight", []int{256}}, ps{"encoder.context.norm.bias", []int{256}})
	var got []ps
	for _, p := range m.Params() {
		got = append(got, ps{p.Name, p.Shape})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("params\n%v\nwant\n%v", got, want)
	}
	if f := m.FeatureParams(); len(f) != nFeature || f[0].Name != "encoder.feature.conv.0.weight" {
		t.Errorf("FeatureParams: %d params, want %d", len(f), nFeature)
	}
	lm, err := New(Config{Input: "logmel", Dim: 32, ContextDilations: []int{1}}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(lm.FeatureParams()) != 0 || lm.Proj.Weight.Shape[1] != 80 {
		t.Errorf("logmel: %d feature params, proj %v", len(lm.FeatureParams()), lm.Proj.Weight.Shape)
	}
}

// TestInit checks the initial values' distributions: kaiming normal for
// the feature convolutions (fairseq), PyTorch's U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) for the context convolutions and the projection, norms at
// 1 and 0, the mask embedding in [0, 1).
func TestInit(t *testing.T) {
	m, err := New(Tiny(), newRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	stats := func(x []float32) (mean, std, maxAbs float64) {
		for _, v := range x {
			mean += float64(v)
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		mean /= float64(len(x))
		for _, v := range x {
			std += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(std / float64(len(x))), maxAbs
	}
	near := func(name string, got, want, rel float64) {
		if math.Abs(got-want) > rel*want {
			t.Errorf("%s: %g, want %g (within %g%%)", name, got, want, rel*100)
		}
	}
	for i, c := range m.FeatureConvs {
		_, std, _ := stats(c.Weight.Data)
		near(c.Weight.Name+" std", std, math.Sqrt(2/float64(c.Config.In*c.Config.Kernel)), 0.06)
		if c.Bias != nil {
			t.Errorf("feature conv %d has a bias", i)
		}
	}
	uniform := func(p *nn.Param, fanIn int) {
		bound := 1 / math.Sqrt(float64(fanIn))
		mean, std, maxAbs := stats(p.Data)
		if maxAbs > bound || math.Abs(mean) > 4*bound/math.Sqrt(3*float64(p.Size())) {
			t.Errorf("%s: max |w| %g, mean %g: want within U(-%g, %g)", p.Name, maxAbs, mean, bound, bound)
		}
		if p.Size() > 1000 {
			near(p.Name+" std", std, bound/math.Sqrt(3), 0.03)
		}
	}
	for _, b := range m.Blocks {
		uniform(b.Conv.Weight, 256*3)
		uniform(b.Conv.Bias, 256*3)
	}
	uniform(m.Proj.Weight, 128)
	uniform(m.Proj.Bias, 128)
	norms := append([]*nn.LayerNorm{m.Norm, m.ContextNorm}, m.FeatureNorms...)
	for _, b := range m.Blocks {
		norms = append(norms, b.Norm)
	}
	for _, n := range norms {
		for i := range n.Gamma.Data {
			if n.Gamma.Data[i] != 1 || n.Beta.Data[i] != 0 {
				t.Fatalf("%s, %s: %g, %g: want 1 and 0", n.Gamma.Name, n.Beta.Name, n.Gamma.Data[i], n.Beta.Data[i])
			}
		}
	}
	mean, _, _ := stats(m.MaskEmb.Data)
	for _, v := range m.MaskEmb.Data {
		if v < 0 || v >= 1 {
			t.Fatalf("mask_emb value %g outside [0, 1)", v)
		}
	}
	near("mask_emb mean", mean, 0.5, 0.15)
}

// forward builds wave -> c for a batch of utterances zero-padded to the
// longest, with a validity mask when pad is set, and returns c [B, Dim, T].
func forward(t testing.TB, m *Model, waves [][]float32, pad bool) ([]float32, int) {
	L := 0
	for _, w := range waves {
		L = max(L, len(w))
	}
	B, T := len(waves), m.Config.Frames(L)
	g := nn.NewGraph()
	x := g.Input("wave", B, 1, L)
	var valid *nn.Node
	if pad {
		valid = g.Input("valid", B, 1, T)
	}
	_, proj := m.Embed(g, m.Features(g, x))
	c := m.Context(g, proj, valid)
	p, err := g.Compile(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	data := make([]float32, B*L)
	vs := make([]float32, B*T)
	for b, w := range waves {
		copy(data[b*L:], w)
		for i := range m.Config.Frames(len(w)) {
			vs[b*T+i] = 1
		}
	}
	p.Set(x, data)
	if pad {
		p.Set(valid, vs)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), p.Value(c)...), T
}

func randomWave(rng *rand.Rand, n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	return w
}

// TestPaddingInvariance: each utterance alone and inside a zero-padded
// batch with a validity mask give the same c on its frames, and c is 0 on
// the padding (fairseq #3227).
func TestPaddingInvariance(t *testing.T) {
	m, err := New(Tiny(), newRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	rng := newRNG(5)
	waves := [][]float32{randomWave(rng, 5000), randomWave(rng, 12000), randomWave(rng, 800), randomWave(rng, 9001)}
	batch, T := forward(t, m, waves, true)
	D := m.Config.Dim
	for b, w := range waves {
		alone, Tb := forward(t, m, [][]float32{w}, false)
		var worst float64
		for d := range D {
			for i := range T {
				got := float64(batch[(b*D+d)*T+i])
				if i >= Tb {
					if got != 0 {
						t.Fatalf("utterance %d: c[%d, %d] = %g on padding, want 0", b, d, i, got)
					}
					continue
				}
				worst = math.Max(worst, math.Abs(got-float64(alone[d*Tb+i])))
			}
		}
		if worst > 1e-5 {
			t.Errorf("utterance %d (%d samples): padded batch differs from alone by %g", b, len(w), worst)
		}
	}
}

// TestContextReceptiveField perturbs one input frame of the context
// network and counts the output frames that change: ContextFrames(), 101
// frames (1.01 s) for Tiny.
func TestContextReceptiveField(t *testing.T) {
	cfg := Tiny()
	cfg.Dim = 16
	m, err := New(cfg, newRNG(6))
	if err != nil {
		t.Fatal(err)
	}
	const T, at = 160, 80
	run := func(x []float32) []float32 {
		g := nn.NewGraph()
		in := g.Input("x", 1, cfg.Dim, T)
		c := m.Context(g, in, nil)
		p, err := g.Compile(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		p.Set(in, x)
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), p.Value(c)...)
	}
	x := randomWave(newRNG(7), cfg.Dim*T)
	base := run(x)
	for d := range cfg.Dim {
		x[d*T+at] += 1
	}
	moved := run(x)
	first, last := T, -1
	for d := range cfg.Dim {
		for i := range T {
			if moved[d*T+i] != base[d*T+i] {
				first, last = min(first, i), max(last, i)
			}
		}
	}
	rf := cfg.ContextFrames()
	if rf != 101 {
		t.Errorf("ContextFrames = %d, want 101", rf)
	}
	if first != at-rf/2 || last != at+rf/2 {
		t.Errorf("frame %d changed outputs %d..%d, want %d..%d", at, first, last, at-rf/2, at+rf/2)
	}
	if s := float64(rf) * FrameSeconds; s < 0.9 || s > 1.2 {
		t.Errorf("receptive field %g s, want about 1 s", s)
	}
}

// TestTrainStep runs a tiny forward and backward pass (masking included)
// through Compile and checks that every parameter gets a finite, non-zero
// gradient.
func TestTrainStep(t *testing.T) {
	m, err := New(Tiny(), newRNG(8))
	if err != nil {
		t.Fatal(err)
	}
	const B, L = 2, 4000
	T := m.Config.Frames(L)
	g := nn.NewGraph()
	g.Training, g.Seed = true, 1
	x := g.Input("wave", B, 1, L)
	mask := g.Input("mask", B, 1, T)
	valid := g.Input("valid", B, 1, T)
	z, proj := m.Embed(g, m.Features(g, x))
	c := m.Context(g, m.Mask(g, proj, mask), valid)
	loss := g.Add(g.Mean(g.Square(c)), g.Mean(g.Square(z)))
	p, err := g.Compile(loss, c)
	if err != nil {
		t.Fatal(err)
	}
	p.Set(x, randomWave(newRNG(9), B*L))
	ms, vs := make([]float32, B*T), make([]float32, B*T)
	for i := range ms {
		ms[i] = float32(i / 3 % 2)
		vs[i] = 1
	}
	vs[len(vs)-1] = 0
	p.Set(mask, ms)
	p.Set(valid, vs)
	for _, pr := range m.Params() {
		pr.ZeroGrad()
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	if l := p.Loss(); !(l > 0) || math.IsInf(l, 0) {
		t.Fatalf("loss %g", l)
	}
	for _, pr := range m.Params() {
		var norm float64
		for _, v := range pr.Grad {
			norm += float64(v) * float64(v)
		}
		if !(norm > 0) || math.IsInf(norm, 0) {
			t.Errorf("%s: gradient norm^2 %g", pr.Name, norm)
		}
	}
}

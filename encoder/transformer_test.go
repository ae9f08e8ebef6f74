package encoder

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

// tinyTransformer is a small transformer config for tests.
func tinyTransformer() TransformerConfig {
	return TransformerConfig{ConvDims: []int{8, 8}, ConvKernels: []int{10, 3}, ConvStrides: []int{5, 2}, FeatureNorm: "group",
		Dim: 16, Layers: 2, Heads: 2, FF: 24, PosKernel: 4, PosGroups: 2, Eps: 1e-5}
}

// TestTransformerLayerDrop: a layer whose Keep gate is 0 passes its input
// on unchanged and its weights get no gradient, while the kept layer's do;
// all-ones gates give Forward's output (to float32 rounding).
func TestTransformerLayerDrop(t *testing.T) {
	m, err := NewTransformer(tinyTransformer(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	const B, L = 2, 800
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, B*L)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	run := func(keep []float32) (layers [][]float32, grads map[string][]float32) {
		g := nn.NewGraph()
		g.Training = true
		in := g.Input("x", B, 1, L)
		proj := m.Project(g, m.Features(g, in), nil)
		T := proj.Shape()[2]
		var gates []*nn.Node
		for i := range m.Config.Layers {
			gates = append(gates, g.Input(fmt.Sprint("keep", i), B, 1, T))
		}
		var outs []*nn.Node
		out := m.Context(g, proj, nil, ContextOptions{Layers: &outs, Keep: gates})
		p, err := g.Compile(g.Mean(g.Square(out)), outs...)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		p.Set(in, x)
		for i, k := range gates {
			v := make([]float32, B*T)
			for j := range v {
				v[j] = keep[i]
			}
			p.Set(k, v)
		}
		for _, q := range m.Params() {
			q.ZeroGrad()
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		grads = map[string][]float32{}
		for _, q := range m.Params() {
			grads[q.Name] = slices.Clone(q.Grad)
		}
		for _, o := range outs {
			layers = append(layers, slices.Clone(p.Value(o)))
		}
		return layers, grads
	}
	layers, grads := run([]float32{1, 0})
	if !slices.Equal(layers[0], layers[1]) {
		t.Error("a dropped layer changed its input")
	}
	nonzero := func(g []float32) bool { return slices.ContainsFunc(g, func(v float32) bool { return v != 0 }) }
	for name, g := range grads {
		switch {
		case len(name) > 17 && name[:17] == "encoder.layers.1.":
			if nonzero(g) {
				t.Errorf("%s of the dropped layer has a gradient", name)
			}
		case len(name) > 17 && name[:17] == "encoder.layers.0.":
			if !nonzero(g) {
				t.Errorf("%s of the kept layer has no gradient", name)
			}
		}
	}
	all, _ := run([]float32{1, 1})
	g := nn.NewGraph()
	in := g.Input("x", B, 1, L)
	fw := m.Forward(g, m.Features(g, in), nil)
	p, err := g.Compile(nil, fw.Out)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Set(in, x)
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	// x + 1*(y-x) rounds differently from y: equal to float32 precision.
	want := p.Value(fw.Out)
	for i, v := range all[1] {
		if d := math.Abs(float64(v - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("all layers kept: output %d is %g, Forward's %g", i, v, want[i])
		}
	}
}

// TestTransformerConfigJSON: a config goes through JSON unchanged, the
// missing projection norm (HuBERT's feat_proj_layer_norm false) included,
// so that a checkpoint of such a model reads back.
func TestTransformerConfigJSON(t *testing.T) {
	for _, c := range []TransformerConfig{TransformerTiny(), TransformerBase()} {
		c.NoFeatureProjNorm = true
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back TransformerConfig
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s read back as %+v", data, back)
		}
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
	}
}

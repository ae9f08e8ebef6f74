package pretrain

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
	"github.com/wav2vec-go/wav2vec/train"
)

// pretrainFixture is the tiny wav2vec 2.0 pretraining checkpoint of
// tools/reference/w2v2_pretraining.py, in Hugging Face's and fairseq's
// layouts, with torch's outputs.
const pretrainFixture = "../published/testdata/w2v2-pretrain"

// loadPublished reads a published pretraining checkpoint as a model to
// continue.
func loadPublished(t *testing.T, path string) *Model {
	t.Helper()
	pm, err := published.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := FromPublished(pm, ContinueSettings(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// project returns x [T, in] through a linear layer's weight [out, in] and
// bias [out], as [T, out].
func project(x []float32, w, b *nn.Param) []float32 {
	out, in := w.Shape[0], w.Shape[1]
	T := len(x) / in
	y := make([]float32, T*out)
	for t := range T {
		for o := range out {
			s := float64(b.Data[o])
			for i := range in {
				s += float64(w.Data[o*in+i]) * float64(x[t*in+i])
			}
			y[t*out+o] = float32(s)
		}
	}
	return y
}

// TestFromPublished reads the pretraining fixture from both layouts and
// wants torch's outputs: z (the quantizer's input), q (the argmax codes'
// vectors), project_q(q), the transformer's output c and final_proj(c),
// within 1e-4; and the same parameters from both files.
func TestFromPublished(t *testing.T) {
	ref, err := nn.LoadCheckpoint(filepath.Join(pretrainFixture, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]*Model{}
	for _, layout := range []string{"hf", "fairseq.pt"} {
		path := pretrainFixture
		if layout != "hf" {
			path = filepath.Join(pretrainFixture, layout)
		}
		m := loadPublished(t, path)
		models[layout] = m
		if m.Quantizer.Config.Groups != 2 || m.Quantizer.Config.Codes != 8 || m.Config.Pretrain.FinalDim != 12 || m.Config.NoNormalize {
			t.Errorf("%s: quantizer %+v, final_dim %d, no_normalize %v", layout, m.Quantizer.Config, m.Config.Pretrain.FinalDim, m.Config.NoNormalize)
		}
		for n := range 2 {
			x := ref.Tensors[itoa2("input", n)].Data
			got := map[string][]float32{}
			for _, layer := range []string{LayerZ, LayerQ, LayerC} {
				data, _, _, err := m.Extract(x, layer)
				if err != nil {
					t.Fatal(err)
				}
				got[layer] = data
			}
			got["project_q"] = project(got[LayerQ], m.ProjectQ.Weight, m.ProjectQ.Bias)
			got["final_proj"] = project(got[LayerC], m.FinalProj.Weight, m.FinalProj.Bias)
			for name, want := range map[string]string{LayerZ: "z", LayerQ: "q", "project_q": "project_q", LayerC: "output", "final_proj": "final_proj"} {
				w := ref.Tensors[itoa2(want, n)].Data
				if len(got[name]) != len(w) {
					t.Fatalf("%s %s.%d: %d values, torch %d", layout, name, n, len(got[name]), len(w))
				}
				var worst float64
				for i := range w {
					worst = math.Max(worst, math.Abs(float64(got[name][i]-w[i])))
				}
				if worst > 1e-4 {
					t.Errorf("%s %s.%d: differs from torch's by up to %.2g", layout, name, n, worst)
				}
			}
		}
	}
	a, b := models["hf"].Params(), models["fairseq.pt"].Params()
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Data, b[i].Data) {
			t.Errorf("parameter %s differs between the layouts", a[i].Name)
		}
	}
}

func itoa2(name string, n int) string { return name + "." + itoa(n) }

// TestPublishedRoundTrip writes a transformer pretraining model in Hugging
// Face's layout and reads it back: every parameter is bit-identical.
func TestPublishedRoundTrip(t *testing.T) {
	tr, err := NewTrainer(quickTransformerConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	m := tr.Model
	pub, err := m.Published()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "hf")
	if err := published.SaveHF(dir, pub); err != nil {
		t.Fatal(err)
	}
	back := loadPublished(t, dir)
	a, b := m.Params(), back.Params()
	if len(a) != len(b) {
		t.Fatalf("%d parameters, %d read back", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Data, b[i].Data) {
			t.Errorf("parameter %s (read back as %s) differs", a[i].Name, b[i].Name)
		}
	}
	conv, err := NewTrainer(quickConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conv.Model.Published(); err == nil {
		t.Error("a convolutional model has a published layout")
	}
}

// TestRunInit continues the fixture's pretraining for a few updates with
// ContinueSettings (--init without --config) and from the result's
// checkpoint (--init of the toolkit's own), and wants the body to move.
func TestRunInit(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeCorpus(t, dir, 6, 1)
	out := filepath.Join(dir, "continued")
	res, err := Run(context.Background(), Options{Train: trainTSV, Out: out, Init: pretrainFixture, Seed: 1, MaxSteps: 3, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 3 {
		t.Fatalf("%d steps", res.Steps)
	}
	before := loadPublished(t, pretrainFixture)
	after, err := LoadModel(train.LastPath(out))
	if err != nil {
		t.Fatal(err)
	}
	if after.Config.Pretrain.LR != ContinueSettings().LR || after.Quantizer.Config.TempStart != 0.5 {
		t.Errorf("settings %+v, quantizer %+v: want ContinueSettings and the temperature at 0.5", after.Config.Pretrain, after.Quantizer.Config)
	}
	moved := 0
	for i, p := range before.Params() {
		if !slices.Equal(p.Data, after.Params()[i].Data) {
			moved++
		}
	}
	if moved < len(before.Params())/2 {
		t.Errorf("%d of %d parameters changed in 3 updates", moved, len(before.Params()))
	}
	again := filepath.Join(dir, "again")
	if _, err := Run(context.Background(), Options{Train: trainTSV, Out: again, Init: train.LastPath(out), Seed: 1, MaxSteps: 2, Quiet: true}); err != nil {
		t.Fatal(err)
	}
}

// TestRunInitTeacher continues published bodies with data2vec's teacher
// targets: the wav2vec 2.0 pretraining fixture and a HuBERT body, which
// has no quantizer. The model starts as the published body with a teacher
// equal to it, trains 3 updates, and its checkpoint holds the moved body
// and the teacher.
func TestRunInitTeacher(t *testing.T) {
	s := Tiny()
	s.Targets = TargetsTeacher
	s.AverageTopK = 2
	s.DecoderLayers = 1
	s.CropSeconds, s.BatchSeconds = 0.5, 1.5
	for _, fixture := range []string{pretrainFixture, "../published/testdata/hubert-base"} {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			pm, err := published.Load(fixture)
			if err != nil {
				t.Fatal(err)
			}
			m, err := FromPublished(pm, s, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range pm.Body.Params() {
				if q := m.bodyParams()[i]; q.Name != p.Name || !slices.Equal(q.Data, p.Data) {
					t.Fatalf("body tensor %d: %s, want the published %s", i, q.Name, p.Name)
				}
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "continued")
			o := Options{Train: writeCorpus(t, dir, 6, 1), Out: out, Init: fixture, Config: FullConfig{Pretrain: s}, Seed: 1, MaxSteps: 3, Quiet: true}
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			ck, err := nn.LoadCheckpoint(train.LastPath(out))
			if err != nil {
				t.Fatal(err)
			}
			moved := 0
			for _, p := range pm.Body.Params() {
				got, ok := ck.Tensors[p.Name]
				if _, teach := ck.Tensors[tensorTeacher+p.Name]; !ok || !teach {
					t.Fatalf("the checkpoint lacks %s or its teacher's", p.Name)
				}
				if !slices.Equal(got.Data, p.Data) {
					moved++
				}
			}
			if moved < len(pm.Body.Params())/2 {
				t.Errorf("%d of %d body tensors changed in 3 updates", moved, len(pm.Body.Params()))
			}
		})
	}
	if _, err := FromPublished(&published.Model{Arch: "Wav2Vec2Model"}, ContinueSettings(), rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("a body without a quantizer was taken for the quantizer's targets")
	}
}

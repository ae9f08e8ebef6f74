package main

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// TestAverage: every parameter of the output is the mean of the inputs'.
func TestAverage(t *testing.T) {
	dir := t.TempDir()
	enc := encoder.Tiny()
	enc.Dim, enc.ContextDilations = 16, []int{1, 2}
	var paths []string
	var models []*asr.Model
	for seed := range uint64(3) {
		m, err := asr.New(enc, dataset.DefaultVocab(), asr.InitLogMel, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "m"+string(rune('0'+seed))+".safetensors")
		if err := m.Save(p); err != nil {
			t.Fatal(err)
		}
		paths, models = append(paths, p), append(models, m)
	}
	out := filepath.Join(dir, "avg.safetensors")
	if err := run(out, paths); err != nil {
		t.Fatal(err)
	}
	avg, err := asr.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i, p := range avg.Params() {
		for j, v := range p.Data {
			a, b, c := models[0].Params()[i].Data[j], models[1].Params()[i].Data[j], models[2].Params()[i].Data[j]
			want := (float64(a) + float64(b) + float64(c)) / 3
			if math.Abs(float64(v)-want) > 1e-6*(1+math.Abs(want)) {
				t.Fatalf("%s[%d] = %v, want the mean %v of %v, %v, %v", p.Name, j, v, want, a, b, c)
			}
			if a != b {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Fatal("the inputs are equal: the test shows nothing")
	}

	other := encoder.Tiny()
	other.Dim, other.ContextDilations = 16, []int{1}
	m, err := asr.New(other, dataset.DefaultVocab(), asr.InitLogMel, rand.New(rand.NewPCG(9, 1)))
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "other.safetensors")
	if err := m.Save(odd); err != nil {
		t.Fatal(err)
	}
	if err := run(filepath.Join(dir, "bad.safetensors"), []string{paths[0], odd}); err == nil || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("models of different shapes: %v", err)
	}
	if err := run(paths[0], paths); err == nil {
		t.Error("--out as an input: no error")
	}
}

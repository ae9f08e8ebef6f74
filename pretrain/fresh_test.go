package pretrain

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestFreshAndStep(t *testing.T) {
	cfg := quickConfig()
	tr, err := NewTrainer(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	tr.Step = 7
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	m, step, err := LoadModelStep(path)
	if err != nil || step != 7 {
		t.Fatalf("LoadModelStep: step %d, %v; want 7", step, err)
	}
	// Fresh(seed) is NewTrainer's starting point for that seed.
	for _, seed := range []uint64{11, 12} {
		f, err := m.Fresh(seed)
		if err != nil {
			t.Fatal(err)
		}
		same := true
		for i, p := range f.Params() {
			if !slices.Equal(p.Data, tr.Model.Params()[i].Data) {
				same = false
			}
		}
		if same != (seed == 11) {
			t.Errorf("seed %d: weights equal to NewTrainer(cfg, 11)'s: %v", seed, same)
		}
	}
	if _, _, err := LoadModelStep(filepath.Join(t.TempDir(), "none.safetensors")); err == nil {
		t.Error("a missing checkpoint loaded")
	}
}

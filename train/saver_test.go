package train

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/nn"
)

func TestSaverDue(t *testing.T) {
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSaver(t.TempDir(), time.Minute)
	s.now = func() time.Time { return clock }
	s.last = clock
	if s.Due() {
		t.Fatal("due right after creation")
	}
	clock = clock.Add(61 * time.Second)
	if !s.Due() {
		t.Fatal("not due after the interval")
	}
	p := nn.NewParam("w", 2)
	if err := s.SaveLast([]*nn.Param{p}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s.Due() {
		t.Fatal("due right after SaveLast")
	}
}

func TestSaverBest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run") // created on first save
	s := NewSaver(dir, time.Hour)
	p := nn.NewParam("w", 3)
	params := []*nn.Param{p}
	for i, tc := range []struct {
		score float64
		saved bool
	}{
		{math.NaN(), false}, {5, true}, {6, false}, {5, false}, {math.Inf(-1), false}, {4.5, true},
	} {
		p.Data[0] = float32(i)
		saved, err := s.SaveBest(tc.score, params, map[string][]float32{"adam.m": {1}}, map[string]string{"kind": "test"})
		if err != nil {
			t.Fatal(err)
		}
		if saved != tc.saved {
			t.Errorf("score %g: saved = %v, want %v", tc.score, saved, tc.saved)
		}
	}
	if s.Best() != 4.5 {
		t.Errorf("Best() = %g, want 4.5", s.Best())
	}
	c, err := nn.LoadCheckpoint(BestPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tensors["w"].Data[0] != 5 || c.Meta["kind"] != "test" || c.Meta[MetaBestScore] != "4.5" {
		t.Errorf("best checkpoint holds w[0]=%g meta=%v, want the step-5 weights and score 4.5", c.Tensors["w"].Data[0], c.Meta)
	}
	// A new Saver on the same folder picks the score back up.
	s2 := NewSaver(dir, time.Hour)
	if err := s2.LoadBest(); err != nil {
		t.Fatal(err)
	}
	if s2.Best() != 4.5 {
		t.Errorf("LoadBest: %g, want 4.5", s2.Best())
	}
	if saved, _ := s2.SaveBest(4.6, params, nil, nil); saved {
		t.Error("a resumed saver overwrote a better checkpoint")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != BestFile {
			t.Errorf("unexpected file %s in the run folder (temporary file left?)", e.Name())
		}
	}
}

func TestSaverLastOverwritesAtomically(t *testing.T) {
	dir := t.TempDir()
	s := NewSaver(dir, time.Hour)
	p := nn.NewParam("w", 4)
	for v := range 3 {
		p.Data[0] = float32(v)
		if err := s.SaveLast([]*nn.Param{p}, nil, map[string]string{"step": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := nn.LoadCheckpoint(LastPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tensors["w"].Data[0] != 2 {
		t.Errorf("w[0] = %g, want the last save", c.Tensors["w"].Data[0])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only %s", len(entries), LastFile)
	}
	// A failing save (the folder is a file) reports an error and leaves no file.
	bad := NewSaver(filepath.Join(LastPath(dir), "x"), time.Hour)
	if err := bad.SaveLast([]*nn.Param{p}, nil, nil); err == nil {
		t.Error("saving under a file succeeded")
	}
}

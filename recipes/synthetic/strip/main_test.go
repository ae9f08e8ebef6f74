package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// TestStrip checks that the stripped file holds the checkpoint's weights
// exactly, its config and step, and neither the moments nor the optimiser's
// step counts.
func TestStrip(t *testing.T) {
	speech, err := filepath.Abs("../../../testdata/speech")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tsv := speech + "\nclear_train_voice.wav\t40000\n"
	ltr := "A L W A Y S | R E M E M B E R | T H A T | Y O U | A R E | U N I Q U E |\n"
	if err := os.WriteFile(filepath.Join(dir, "train.tsv"), []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.ltr"), []byte(ltr), 0o644); err != nil {
		t.Fatal(err)
	}
	enc := encoder.Tiny()
	enc.Dim, enc.ContextDilations = 16, []int{1, 2}
	cfg := asr.DefaultFinetuneConfig()
	cfg.Init, cfg.Encoder, cfg.Train, cfg.Out = asr.InitLogMel, enc, filepath.Join(dir, "train.tsv"), filepath.Join(dir, "run")
	cfg.MaxSteps, cfg.LR, cfg.BatchSeconds = 2, 1e-3, 20
	cfg.Log, cfg.Quiet = slog.New(slog.DiscardHandler), true
	if _, err := asr.Finetune(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	from := filepath.Join(cfg.Out, "checkpoint_last.safetensors")
	out := filepath.Join(dir, "model.safetensors")
	if err := run(from, out); err != nil {
		t.Fatal(err)
	}
	src, err := nn.LoadCheckpoint(from)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := nn.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Meta[nn.MetaOptimizer]; !ok {
		t.Fatal("the source checkpoint has no optimiser state: the test proves nothing")
	}
	if _, ok := dst.Meta[nn.MetaOptimizer]; ok {
		t.Error("the stripped file keeps the optimiser's step counts")
	}
	for _, k := range []string{nn.MetaStep, nn.MetaConfig, nn.MetaKind} {
		if dst.Meta[k] != src.Meta[k] {
			t.Errorf("metadata %q: %q, want %q", k, dst.Meta[k], src.Meta[k])
		}
	}
	m, err := asr.FromCheckpoint(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(dst.Tensors) != len(m.Params()) {
		t.Errorf("%d tensors, want the %d parameters only (source: %d)", len(dst.Tensors), len(m.Params()), len(src.Tensors))
	}
	for _, p := range m.Params() {
		if got := dst.Tensors[p.Name].Data; !slices.Equal(got, p.Data) {
			t.Errorf("%s differs from the checkpoint's", p.Name)
		}
	}
	if _, err := asr.Load(out); err != nil {
		t.Error(err)
	}
	if err := run(filepath.Join(dir, "missing.safetensors"), out); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("a missing checkpoint: %v", err)
	}
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// speechManifest writes a manifest and .ltr of the three fixtures.
func speechManifest(t *testing.T) string {
	t.Helper()
	speech, err := filepath.Abs("../../../testdata/speech")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(speech, "transcripts.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tsv, ltr := []string{speech}, []string(nil)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, text, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		samples, err := audio.ReadFile(filepath.Join(speech, name+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		tsv = append(tsv, fmt.Sprintf("%s.wav\t%d", name, len(samples)))
		ltr = append(ltr, dataset.WordsToLetters(text))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "train.tsv")
	if err := os.WriteFile(path, []byte(strings.Join(tsv, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.ltr"), []byte(strings.Join(ltr, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGrow checks that the grown model gives the old one's output exactly,
// and that fine-tuning resumes from it and trains the new blocks.
func TestGrow(t *testing.T) {
	train := speechManifest(t)
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	enc := encoder.Tiny()
	enc.Dim, enc.ContextDilations = 16, []int{1, 2}
	cfg := asr.DefaultFinetuneConfig()
	cfg.Init, cfg.Encoder, cfg.Train, cfg.Out, cfg.Log, cfg.Quiet = asr.InitLogMel, enc, train, filepath.Join(dir, "old"), quiet, true
	cfg.MaxSteps, cfg.LR, cfg.BatchSeconds = 2, 1e-3, 20
	if _, err := asr.Finetune(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	from := filepath.Join(cfg.Out, "checkpoint_last.safetensors")
	grown := filepath.Join(dir, "grown")
	if err := run(from, grown, "4,1"); err != nil {
		t.Fatal(err)
	}
	if err := run(from, grown, "4,1"); err == nil {
		t.Error("grow overwrote an existing run")
	}
	old, err := asr.Load(from)
	if err != nil {
		t.Fatal(err)
	}
	m, err := asr.Load(filepath.Join(grown, "checkpoint_last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config.Encoder.ContextDilations; !slices.Equal(got, []int{1, 2, 4, 1}) {
		t.Fatalf("grown dilations %v", got)
	}
	samples, err := audio.ReadFile("../../../testdata/speech/clear_train_voice.wav")
	if err != nil {
		t.Fatal(err)
	}
	var lps [2][]float32
	for i, mod := range []*asr.Model{old, m} {
		tr, err := asr.NewTranscriber(mod, asr.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if lps[i], _, err = tr.LogProbs(samples); err != nil {
			t.Fatal(err)
		}
	}
	if len(lps[0]) != len(lps[1]) {
		t.Fatalf("%d and %d log-probabilities", len(lps[0]), len(lps[1]))
	}
	worst := 0.0
	for i := range lps[0] {
		worst = max(worst, math.Abs(float64(lps[0][i]-lps[1][i])))
	}
	// The new blocks add exact zeros; what is left is float32 rounding of
	// kernels that lay out work by graph shape (4.8e-7 when written).
	if worst > 1e-5 {
		t.Errorf("the grown model's log-probabilities differ from the old model's by up to %g", worst)
	}

	cfg.Out, cfg.Init, cfg.Resume, cfg.MaxSteps = grown, "", true, 1
	res, err := asr.Finetune(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 1 {
		t.Fatalf("resumed run ended at step %d, want 1", res.Steps)
	}
	after, err := asr.Load(filepath.Join(grown, "checkpoint_last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range after.Encoder.Blocks[2:] {
		if !slices.ContainsFunc(b.Norm.Gamma.Data, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s stayed zero after an update", b.Norm.Gamma.Name)
		}
	}
}

package asr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/train"
)

// appendToyRows adds rows to the toy corpus NAME.tsv in dir (with their
// .ltr and .wrd lines): for each name, a new toy utterance written under
// that name with the manifest count count(n) for its n samples, or, for a
// nil count, a row for a file that does not exist. It returns the files'
// sample counts.
func appendToyRows(t *testing.T, dir, name string, rows []string, count []func(n int) int) map[string]int {
	t.Helper()
	rng := rand.New(rand.NewPCG(17, 17))
	lens := map[string]int{}
	var tsv, ltr, wrd strings.Builder
	for i, file := range rows {
		text := toyText(rng, 2)
		n := 12345
		if count[i] != nil {
			x := toySpeak(rng, text)
			if err := audio.WriteFile(filepath.Join(dir, name, file), x, audio.SampleRate); err != nil {
				t.Fatal(err)
			}
			n = count[i](len(x))
			lens[file] = len(x)
		}
		fmt.Fprintf(&tsv, "%s\t%d\n", file, n)
		fmt.Fprintln(&ltr, dataset.WordsToLetters(text))
		fmt.Fprintln(&wrd, text)
	}
	for ext, s := range map[string]string{"tsv": tsv.String(), "ltr": ltr.String(), "wrd": wrd.String()} {
		f, err := os.OpenFile(filepath.Join(dir, name+"."+ext), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(s)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return lens
}

// TestFinetuneCountsSkippedRows: a manifest row whose file is missing is
// skipped and counted (in the result and in metrics.jsonl), once, also
// across a stop and resume; a count of 10 for a good file and a count ten
// times too large are reported with the file and both counts, and neither
// file is skipped.
func TestFinetuneCountsSkippedRows(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 6, 7) // rows on lines 2-7
	lens := appendToyRows(t, dir, "train", []string{"missing.wav", "good10.wav", "big.wav"},
		[]func(int) int{nil, func(int) int { return 10 }, func(n int) int { return 10 * n }})
	var log lockedBuffer
	cfg := finetuneConfig(func(c *FinetuneConfig) {
		c.Init = InitScratch
		c.Encoder = toyConfig()
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Out = filepath.Join(dir, "run")
		c.MaxSteps = 4
		c.LR = 1e-3
		c.BatchSeconds = 3
		c.LogEvery = 1
		c.Log = quietLog(&log)
		c.stopAt = 2
	})
	res, err := Finetune(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.SkippedUtts != 1 {
		t.Errorf("first part: %+v, want interrupted with 1 skipped utterance", res)
	}
	for _, want := range []string{
		fmt.Sprintf("train.tsv line 9: good10.wav: manifest says 10 samples, the file has %d", lens["good10.wav"]),
		fmt.Sprintf("train.tsv line 10: big.wav: manifest says %d samples, the file has %d", 10*lens["big.wav"], lens["big.wav"]),
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	var skips []string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "skipping") {
			skips = append(skips, line)
		}
	}
	if len(skips) != 1 || !strings.Contains(skips[0], "missing.wav") {
		t.Errorf("skip warnings %q, want one, for missing.wav", skips)
	}

	cfg.stopAt, cfg.Resume = 0, true
	if res, err = Finetune(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if res.Steps != 4 || res.SkippedUtts != 1 {
		t.Errorf("resumed: %+v, want 4 steps and still 1 skipped utterance", res)
	}
	var counts []any
	for _, row := range readMetrics(t, cfg.Out) {
		if _, ok := row["loss"]; ok {
			counts = append(counts, row["skipped_utterances"])
		}
	}
	if fmt.Sprint(counts) != "[1 1 1 1]" {
		t.Errorf("skipped_utterances by step: %v, want 1 at each of the 4 steps", counts)
	}
}

// TestFinetuneRemovesTemps: fine-tuning, fresh or resumed, starts by
// removing the temporary files a killed run left in its folder, logs them,
// and leaves every other file alone.
func TestFinetuneRemovesTemps(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 4, 3)
	out := filepath.Join(dir, "run")
	stale := []string{".checkpoint_last.safetensors.tmp2718281828", ".checkpoint_best.safetensors.tmp31", ".metrics.jsonl.tmp7"}
	keep := []string{".notes.tmp", ".checkpoint_last.safetensors.tmp", ".checkpoint_last.safetensors.tmp12.bak", "checkpoint_best.safetensors.tmp5"}
	for _, resume := range []bool{false, true} {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range append(slices.Clone(stale), keep...) {
			if err := os.WriteFile(filepath.Join(out, name), make([]byte, 2000), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var log lockedBuffer
		cfg := finetuneConfig(func(c *FinetuneConfig) {
			c.Init = InitScratch
			c.Encoder = toyConfig()
			c.Vocab = toyVocab(t)
			c.Train = trainTSV
			c.Out = out
			c.MaxSteps = 1
			c.LR = 1e-3
			c.BatchSeconds = 3
			c.Log = quietLog(&log)
			c.Resume = resume
		})
		if resume {
			cfg.MaxSteps = 2
		}
		if _, err := Finetune(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		for _, name := range stale {
			if _, err := os.Stat(filepath.Join(out, name)); !os.IsNotExist(err) {
				t.Errorf("resume %v: %s is still there (%v)", resume, name, err)
			}
		}
		for _, name := range append(keep, train.LastFile, train.MetricsFile) {
			if _, err := os.Stat(filepath.Join(out, name)); err != nil {
				t.Errorf("resume %v: %v", resume, err)
			}
		}
		if !strings.Contains(log.String(), "removed the temporary files") || !strings.Contains(log.String(), "files=3 bytes=6000") {
			t.Errorf("resume %v: log does not report the 3 files:\n%s", resume, log.String())
		}
	}
}

//go:build mpi

package asr

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// These tests run under mpirun -np 2 (dist's TestMPIRun starts them); run
// alone they skip.

func TestMain(m *testing.M) { os.Exit(dist.Finish(m.Run())) }

// TestMPIFinetuneMatchesOneProcess: fine-tuning on 2 ranks against 1
// process with the same seed and batches, with every random draw the
// trainer makes (frame and channel masks, VTLP, layerdrop, dropout,
// activation dropout) and a freeze phase: the parameters after a few
// updates agree to float rounding.
func TestMPIFinetuneMatchesOneProcess(t *testing.T) {
	c, err := dist.Init()
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() < 2 {
		t.Skip("not under mpirun")
	}
	buf := make([]byte, 4096)
	if c.Rank() == 0 {
		dir := t.TempDir()
		writeToyCorpus(t, dir, "train", 9, 4)
		writeToyCorpus(t, dir, "valid", 2, 5)
		copy(buf, dir)
	}
	if err := c.Bcast(buf, 0); err != nil {
		t.Fatal(err)
	}
	defer c.Barrier()
	dir := strings.TrimRight(string(buf), "\x00")
	base := finetuneConfig(func(f *FinetuneConfig) {
		f.Init, f.Encoder, f.Vocab = InitScratch, toyConfig(), toyVocab(t)
		f.Train, f.Valid = filepath.Join(dir, "train.tsv"), filepath.Join(dir, "valid.tsv")
		f.MaxSteps, f.LR, f.BatchSeconds, f.ValidEvery, f.LogEvery, f.Seed = 4, 1e-3, 4, 2, 1, 11
		f.Log = quietLog(nil)
	})
	warped := base
	warped.Init, warped.VTLP = InitLogMel, 0.15
	published := base
	published.Init, published.Vocab = filepath.Join("..", "published", "testdata", "w2v2-base"), nil
	published.MaskProb, published.MaskChannelProb, published.MaskChannelLength = 0.3, 0.25, 4
	published.LayerDrop, published.ActivationDropout, published.FreezeSteps = 0.3, 0.1, 2
	for _, tc := range []struct {
		name string
		cfg  FinetuneConfig
	}{{"scratch", base}, {"logmel-vtlp", warped}, {"published", published}} {
		t.Run(tc.name, func(t *testing.T) {
			two := tc.cfg
			two.Out, two.Comm = filepath.Join(dir, tc.name, "two"), c
			res, err := Finetune(context.Background(), two)
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != two.MaxSteps {
				t.Fatalf("%d steps", res.Steps)
			}
			if c.Rank() != 0 {
				return
			}
			one := tc.cfg
			one.Out = filepath.Join(dir, tc.name, "one")
			if _, err := Finetune(context.Background(), one); err != nil {
				t.Fatal(err)
			}
			a, err := nn.LoadCheckpoint(train.LastPath(one.Out))
			if err != nil {
				t.Fatal(err)
			}
			b, err := nn.LoadCheckpoint(train.LastPath(two.Out))
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for name, ta := range a.Tensors {
				if strings.HasPrefix(name, "optim.") {
					// Adam's moments: a key bias's gradient is float noise
					// around 0 (attention ignores it), so are they.
					continue
				}
				tb, ok := b.Tensors[name]
				if !ok || len(tb.Data) != len(ta.Data) {
					t.Fatalf("tensor %s missing or of another size", name)
				}
				var d, s float64
				for i, v := range ta.Data {
					d = max(d, math.Abs(float64(v)-float64(tb.Data[i])))
					s = max(s, math.Abs(float64(v)))
				}
				worst = max(worst, d/max(s, 1e-30))
			}
			t.Logf("after %d updates: max |parameter difference| / max |parameter| = %.2g", one.MaxSteps, worst)
			if worst > 1e-4 {
				t.Errorf("2 ranks and 1 process differ: %.3g", worst)
			}
			rows := readMetrics(t, two.Out)
			if len(rows) == 0 || rows[0]["ranks"] != float64(2) {
				t.Errorf("first metrics row of the 2-rank run: %v, want ranks 2", rows)
			}
		})
	}
}

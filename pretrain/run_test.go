package pretrain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// writeCorpus writes n synthetic utterances of 0.6-1.0 s as WAV files into
// dir and a manifest listing them (and the extra rows, raw manifest lines).
func writeCorpus(t *testing.T, dir string, n int, seed uint64, extra ...string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	var m strings.Builder
	m.WriteString(dir + "\n")
	for i := range n {
		x := synthUtterance(rng, 9600+rng.IntN(6400))
		for j := range x {
			x[j] *= 0.1
		}
		var buf bytes.Buffer
		if err := audio.Encode(&buf, x, audio.SampleRate); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("u%03d.wav", i)
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "%s\t%d\n", name, len(x))
	}
	for _, e := range extra {
		m.WriteString(e + "\n")
	}
	path := filepath.Join(dir, fmt.Sprintf("train%d.tsv", seed))
	if err := os.WriteFile(path, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// quickConfig is a very small config for tests of the training loop.
func quickConfig() FullConfig {
	c := TinyConfig()
	c.Encoder.ConvDim = 32
	c.Encoder.Dim = 32
	c.Encoder.ContextDilations = []int{1, 2}
	c.Encoder.Dropout = 0.1 // the resume test must reproduce the dropout masks
	c.Quantizer.Codes = 8
	c.Quantizer.Dim = 16
	c.Quantizer.TempDecay = 0.99
	c.Pretrain.FinalDim = 16
	c.Pretrain.Negatives = 5
	c.Pretrain.LR = 1e-3
	c.Pretrain.Schedule = "constant"
	c.Pretrain.DiversityWeight = 0.5
	c.Pretrain.MaxSteps = 300
	c.Pretrain.CropSeconds = 0.5
	c.Pretrain.BatchSeconds = 1.5
	c.Pretrain.LogInterval = 2
	c.Pretrain.ValidInterval = 3
	c.Pretrain.Warmup = 2
	return c
}

func readParams(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	c, err := nn.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for k, v := range c.Tensors {
		out[k] = v.Data
	}
	return out
}

// quickMFCCConfig is quickConfig with the "mfcc" cluster targets.
func quickMFCCConfig() FullConfig {
	c := quickConfig()
	c.Pretrain.Targets = TargetsMFCC
	c.Pretrain.Clusters = 8
	return c
}

// TestResumeBitIdentical stops a run halfway and resumes it, and wants the
// weights and metrics of a run straight through, with the quantizer's
// targets and with cluster targets of MFCCs and of a teacher's c (whose
// k-means must come back from the checkpoint).
func TestResumeBitIdentical(t *testing.T) {
	teacherDir := t.TempDir()
	teacher := filepath.Join(teacherDir, "teacher")
	o := Options{Train: writeCorpus(t, teacherDir, 6, 3), Out: teacher, Config: quickMFCCConfig(), Seed: 1, MaxSteps: 3, Quiet: true}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	fromC := quickMFCCConfig()
	fromC.Pretrain.Targets = TargetsContext
	fromC.Pretrain.TargetsFrom = train.LastPath(teacher)
	for _, cfg := range []FullConfig{quickConfig(), quickMFCCConfig(), fromC} {
		t.Run(cfg.Pretrain.Targets, func(t *testing.T) { testResume(t, cfg) })
	}
}

func testResume(t *testing.T, cfg FullConfig) {
	dir := t.TempDir()
	trainTSV := writeCorpus(t, dir, 12, 1)
	validTSV := writeCorpus(t, dir, 3, 2)
	const steps = 8
	opts := func(out string) Options {
		return Options{Train: trainTSV, Valid: validTSV, Out: out, Config: cfg, Seed: 7, MaxSteps: steps, Quiet: true}
	}
	// Straight through.
	straight := filepath.Join(dir, "straight")
	res, err := Run(context.Background(), opts(straight))
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != steps || res.Interrupted {
		t.Fatalf("straight run: %+v", res)
	}
	// Interrupted after half the steps, then resumed.
	split := filepath.Join(dir, "split")
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(split)
	o.OnStep = func(step int) {
		if step == steps/2 {
			cancel()
		}
	}
	res, err = Run(ctx, o)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Steps != steps/2 {
		t.Fatalf("interrupted run: %+v, want interrupted at %d", res, steps/2)
	}
	o = opts(split)
	o.Resume = true
	o.Config = FullConfig{} // ignored on resume
	if res, err = Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if res.Steps != steps || res.Interrupted {
		t.Fatalf("resumed run: %+v", res)
	}
	a, b := readParams(t, train.LastPath(straight)), readParams(t, train.LastPath(split))
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d and %d tensors", len(a), len(b))
	}
	for name, va := range a {
		if !slices.Equal(va, b[name]) {
			t.Errorf("tensor %s differs after stop and resume", name)
		}
	}
	// The metrics logs hold the same steps.
	stepsOf := func(dir string) []string {
		data, err := os.ReadFile(filepath.Join(dir, train.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			out = append(out, fmt.Sprintf("%v/%v/%v", v["step"], v["loss"], v["valid_loss"]))
		}
		return out
	}
	if sa, sb := stepsOf(straight), stepsOf(split); !slices.Equal(sa, sb) {
		t.Errorf("metrics differ:\nstraight %v\nresumed  %v", sa, sb)
	}
	if _, err := os.Stat(train.BestPath(straight)); err != nil {
		t.Errorf("no best checkpoint: %v", err)
	}
	_, centroids := a[tensorCentroids]
	_, codebook := a["quantizer.codevectors"]
	if clusters := cfg.Pretrain.Targets != TargetsQuantizer; centroids != clusters || codebook == clusters {
		t.Errorf("targets %s: k-means centroids saved %v, quantizer codebook saved %v", cfg.Pretrain.Targets, centroids, codebook)
	}
}

func TestBadFilesSkipped(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "garbage.wav"), []byte("not a wav file at all, clearly"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := make([]float32, 300)
	var buf bytes.Buffer
	if err := audio.Encode(&buf, short, audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short.wav"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// garbage.wav claims to be long enough, so only reading it fails;
	// short.wav is skipped by its manifest size.
	tsv := writeCorpus(t, dir, 6, 3, "garbage.wav\t12000", "short.wav\t300")
	var log bytes.Buffer
	out := filepath.Join(dir, "run")
	res, err := Run(context.Background(), Options{Train: tsv, Out: out, Config: quickConfig(), Seed: 1, MaxSteps: 6, Log: &log, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 6 || res.SkippedFiles != 2 {
		t.Errorf("result %+v, want 6 steps and 2 skipped files", res)
	}
	for _, name := range []string{"garbage.wav", "short.wav"} {
		n := 0
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, name) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s named on %d lines of the log, want one:\n%s", name, n, log.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(out, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"skipped_files":2`) {
		t.Errorf("metrics do not count the skipped files:\n%s", data)
	}
}

func TestNaNBatchSkipped(t *testing.T) {
	tr, err := NewTrainer(quickConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	// One good update first, so the optimiser has state to protect.
	if st, err := tr.TrainStep(synthBatch(rng, 2, 8000, 0, 0)); err != nil || st.Skipped {
		t.Fatalf("good step: %+v, %v", st, err)
	}
	snapshot := func() (map[string][]float32, nn.AdamState) {
		p := map[string][]float32{}
		for _, q := range tr.Model.Params() {
			p[q.Name] = slices.Clone(q.Data)
		}
		s := tr.opt.State()
		for k, v := range s.M {
			s.M[k] = slices.Clone(v)
		}
		for k, v := range s.V {
			s.V[k] = slices.Clone(v)
		}
		return p, s
	}
	before, stBefore := snapshot()
	for _, poison := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		b := synthBatch(rng, 2, 8000, 0, 1)
		b.Audio[1234] = poison
		st, err := tr.TrainStep(b)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Skipped || train.Finite(st.Loss) {
			t.Errorf("poison %g: %+v, want a skipped update with a non-finite loss", poison, st)
		}
	}
	after, stAfter := snapshot()
	for name, v := range before {
		if !slices.Equal(v, after[name]) {
			t.Errorf("parameter %s changed by a skipped update", name)
		}
		if !slices.Equal(stBefore.M[name], stAfter.M[name]) || !slices.Equal(stBefore.V[name], stAfter.V[name]) {
			t.Errorf("Adam moments of %s changed by a skipped update", name)
		}
	}
	for _, p := range tr.Model.Params() {
		for _, g := range p.Grad {
			if g != 0 {
				t.Fatalf("gradient of %s left non-zero after a skipped update", p.Name)
			}
		}
	}
	if tr.Step != 1 || tr.SkippedUpdates != 2 {
		t.Errorf("step %d, skipped %d: want 1 and 2", tr.Step, tr.SkippedUpdates)
	}
	// Training goes on afterwards.
	if st, err := tr.TrainStep(synthBatch(rng, 2, 8000, 0, 2)); err != nil || st.Skipped || tr.Step != 2 {
		t.Fatalf("step after the NaN: %+v, %v", st, err)
	}
}

package pretrain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
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
	c.Pretrain.LogEvery = 2
	c.Pretrain.ValidEvery = 3
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

// quickTransformerConfig is quickConfig with a small transformer.
func quickTransformerConfig() FullConfig {
	c := quickConfig()
	tc := encoder.TransformerTiny()
	for i := range tc.ConvDims {
		tc.ConvDims[i] = 32
	}
	tc.Dim, tc.Layers, tc.Heads, tc.FF, tc.PosKernel, tc.PosGroups = 32, 2, 4, 64, 16, 4
	c.Transformer, c.Encoder = &tc, encoder.Config{}
	return c
}

// TestResumeBitIdentical stops a run halfway and resumes it, and wants the
// weights and metrics of a run straight through, with the quantizer's
// targets and with cluster targets of MFCCs and of a teacher's c (whose
// k-means must come back from the checkpoint), with the transformer, and
// with data2vec's teacher targets on both networks (whose EMA teacher must
// come back from the checkpoint).
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
	for _, cfg := range []FullConfig{quickConfig(), quickMFCCConfig(), fromC, quickTransformerConfig(), quickTeacherConfig(), quickTransformerTeacherConfig(), quickDecoderConfig()} {
		name := cfg.Pretrain.Targets
		if cfg.Transformer != nil {
			name = "transformer-" + name
		}
		if cfg.Pretrain.DecoderLayers > 0 {
			name += "-decoder"
		}
		t.Run(name, func(t *testing.T) { testResume(t, cfg) })
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
	o.AfterStep = func(step int) {
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
	teachers := 0
	for name := range a {
		if strings.HasPrefix(name, tensorTeacher) {
			teachers++
		}
	}
	pt := cfg.Pretrain.Targets
	clusters, quant, teacher := pt == TargetsMFCC || pt == TargetsContext, pt == TargetsQuantizer, pt == TargetsTeacher
	if centroids != clusters || codebook != quant || (teachers > 0) != teacher {
		t.Errorf("targets %s: k-means centroids saved %v, quantizer codebook saved %v, %d teacher tensors saved", pt, centroids, codebook, teachers)
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
	// Both are skipped when the run starts and reads their headers:
	// garbage.wav has none, and short.wav is too short (as its manifest
	// count says too).
	tsv := writeCorpus(t, dir, 6, 3, "garbage.wav\t12000", "short.wav\t300")
	var log bytes.Buffer
	out := filepath.Join(dir, "run")
	res, err := Run(context.Background(), Options{Train: tsv, Out: out, Config: quickConfig(), Seed: 1, MaxSteps: 6, Log: slog.New(slog.NewTextHandler(&log, nil)), Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 6 || res.SkippedUtts != 2 {
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

// TestManifestCountsChecked: every row's sample count is checked against
// its file's header when the run starts. A missing file is skipped and
// counted once, also across a stop and resume; a count ten times too large
// and a count of 10 for a good file are reported, naming the file and both
// counts, and the files are trained on with their real lengths.
func TestManifestCountsChecked(t *testing.T) {
	dir := t.TempDir()
	for name, n := range map[string]int{"good10.wav": 10000, "big.wav": 9600} {
		x := synthUtterance(rand.New(rand.NewPCG(uint64(n), 1)), n)
		if err := audio.WriteFile(filepath.Join(dir, name), x, audio.SampleRate); err != nil {
			t.Fatal(err)
		}
	}
	tsv := writeCorpus(t, dir, 4, 3, "missing.wav\t12000", "good10.wav\t10", "big.wav\t96000")
	out := filepath.Join(dir, "run")
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{Train: tsv, Out: out, Config: quickConfig(), Seed: 1, MaxSteps: 6, Log: slog.New(slog.NewTextHandler(&log, nil)), Quiet: true,
		AfterStep: func(step int) {
			if step == 3 {
				cancel()
			}
		}}
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.SkippedUtts != 1 {
		t.Errorf("first part: %+v, want interrupted with 1 skipped file", res)
	}
	first := log.String()
	for _, want := range []string{
		"train3.tsv line 7: good10.wav: manifest says 10 samples, the file has 10000",
		"train3.tsv line 8: big.wav: manifest says 96000 samples, the file has 9600",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("log lacks %q:\n%s", want, first)
		}
	}
	var skips []string
	for _, line := range strings.Split(first, "\n") {
		if strings.Contains(line, "skipping") {
			skips = append(skips, line)
		}
	}
	if len(skips) != 1 || !strings.Contains(skips[0], "missing.wav") {
		t.Errorf("skip warnings %q, want one, for missing.wav", skips)
	}

	log.Reset()
	o.Resume, o.AfterStep, o.Config = true, nil, FullConfig{}
	if res, err = Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if res.Steps != 6 || res.SkippedUtts != 1 {
		t.Errorf("resumed: %+v, want 6 steps and still 1 skipped file", res)
	}
	data, err := os.ReadFile(filepath.Join(out, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d metrics lines, want 3 (steps 2, 4, 6):\n%s", len(lines), data)
	}
	for _, line := range lines {
		if !strings.Contains(line, `"skipped_files":1`) {
			t.Errorf("metrics line %s: want skipped_files 1", line)
		}
	}
}

// writeTemps puts into dir the temporary files a killed run leaves, and
// files named like them that are not ours; it returns the names of both.
func writeTemps(t *testing.T, dir string) (stale, keep []string) {
	t.Helper()
	stale = []string{".checkpoint_last.safetensors.tmp2718281828", ".checkpoint_best.safetensors.tmp31", ".metrics.jsonl.tmp7"}
	keep = []string{".notes.tmp", ".checkpoint_last.safetensors.tmp", ".checkpoint_last.safetensors.tmp12.bak", "checkpoint_best.safetensors.tmp5"}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range append(slices.Clone(stale), keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 1000*(i+1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return stale, keep
}

// TestRunRemovesTemps: a run, fresh or resumed, starts by removing the
// temporary files an earlier, killed run left in its folder, says so, and
// leaves every other file alone.
func TestRunRemovesTemps(t *testing.T) {
	dir := t.TempDir()
	tsv := writeCorpus(t, dir, 4, 3)
	out := filepath.Join(dir, "run")
	for _, resume := range []bool{false, true} {
		stale, keep := writeTemps(t, out)
		var log bytes.Buffer
		o := Options{Train: tsv, Out: out, Config: quickConfig(), Seed: 1, MaxSteps: 1, Resume: resume, Log: slog.New(slog.NewTextHandler(&log, nil)), Quiet: true}
		if resume {
			o.MaxSteps, o.Config = 2, FullConfig{}
		}
		if _, err := Run(context.Background(), o); err != nil {
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
			t.Errorf("resume %v: the log does not report the 3 files of 6000 bytes removed:\n%s", resume, log.String())
		}
	}
}

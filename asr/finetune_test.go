package asr

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// quietLog discards warnings, or collects them into *buf.
func quietLog(buf *lockedBuffer) *slog.Logger {
	if buf == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(buf, nil))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// readMetrics returns the rows of DIR/metrics.jsonl.
func readMetrics(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

// validRows returns the validation rows' steps and CERs.
func validRows(rows []map[string]any) (steps []int, cers []float64) {
	for _, r := range rows {
		if c, ok := r["valid_cer"].(float64); ok {
			steps = append(steps, int(r["step"].(float64)))
			cers = append(cers, c)
		}
	}
	return steps, cers
}

// TestFinetuneLearnsToy fine-tunes the toy model from scratch (wave input,
// feature encoder trained too) on 16 utterances of the toy language and
// checks that the training CER, measured by the validation pass on the
// training manifest itself, falls steadily and ends below a real threshold.
func TestFinetuneLearnsToy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about 25 s")
	}
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 16, 1)
	validTSV := trainTSV
	out := filepath.Join(dir, "run")
	res, err := Finetune(context.Background(), finetuneConfig(func(c *FinetuneConfig) {
		c.Init = InitScratch
		c.Encoder = toyConfig()
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Valid = validTSV
		c.Out = out
		c.MaxSteps = toySteps
		c.LR = 3e-3
		c.BatchSeconds = 8
		c.ValidEvery = toySteps / 5
		c.Seed = 3
		c.MaskProb = 0.05
		c.Log = quietLog(nil)
	}))
	if err != nil {
		t.Fatal(err)
	}
	steps, cers := validRows(readMetrics(t, out))
	t.Logf("validation CER by step: %v %v", steps, cers)
	if res.Steps != toySteps || len(cers) != 5 {
		t.Fatalf("%d steps, %d validations", res.Steps, len(cers))
	}
	if cers[0] < 0.3 {
		t.Errorf("CER %.3f after %d steps: the task is too easy to show learning", cers[0], steps[0])
	}
	if cers[len(cers)-1] > toyMaxCER {
		t.Errorf("final validation CER %.3f, want at most %.2f", cers[len(cers)-1], toyMaxCER)
	}
	for i := 1; i < len(cers); i++ {
		if cers[i] > cers[i-1]+0.02 {
			t.Errorf("CER rose from %.3f to %.3f between steps %d and %d", cers[i-1], cers[i], steps[i-1], steps[i])
		}
	}
	best, err := Load(train.BestPath(out))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTranscriber(best, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(context.Background(), tr, validTSV, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best checkpoint on the training set: WER %.3f CER %.3f, RTF %.3f", ev.WER, ev.CER, ev.RTF)
	if ev.CER > toyMaxCER {
		t.Errorf("best checkpoint CER %.3f, want at most %.2f", ev.CER, toyMaxCER)
	}
}

const (
	toySteps  = 100
	toyMaxCER = 0.05
)

// TestFinetuneResume stops a run in the middle and resumes it: the result
// must be bit-identical to an uninterrupted run (weights, metrics).
// TestFinetuneResume: a run interrupted after 5 updates and resumed ends
// with the weights and metrics of an uninterrupted one, for the waveform
// from scratch, for log-mel with VTLP (whose factors must be drawn the
// same after the resume, and must change the training) and for a
// published transformer body.
func TestFinetuneResume(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 10, 4)
	validTSV := writeToyCorpus(t, dir, "valid", 3, 5)
	base := finetuneConfig(func(c *FinetuneConfig) {
		c.Init = InitScratch
		c.Encoder = toyConfig()
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Valid = validTSV
		c.MaxSteps = 8
		c.LR = 1e-3
		c.BatchSeconds = 4
		c.ValidEvery = 3
		c.LogEvery = 1
		c.Seed = 11
		c.Log = quietLog(nil)
	})
	noWarp := base
	noWarp.Init, noWarp.Out = InitLogMel, filepath.Join(dir, "logmel-nowarp")
	if _, err := Finetune(context.Background(), noWarp); err != nil {
		t.Fatal(err)
	}
	warped := base
	warped.Init, warped.VTLP = InitLogMel, 0.15
	// A published body with every transformer regulariser drawn: frame
	// and channel masks, layerdrop, activation dropout, and the freeze
	// ending before the interruption.
	published := base
	published.Init, published.Vocab = filepath.Join("..", "published", "testdata", "w2v2-base"), nil
	published.MaskProb, published.MaskChannelProb, published.MaskChannelLength = 0.3, 0.25, 4
	published.LayerDrop, published.ActivationDropout, published.FreezeSteps = 0.3, 0.1, 2
	for _, cfg := range []FinetuneConfig{base, warped, published} {
		name := cfg.Init
		if cfg.LayerDrop > 0 {
			name = "published"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(dir, name)
			resumeMatches(t, dir, cfg)
			if cfg.VTLP == 0 {
				return
			}
			a, err := nn.LoadCheckpoint(train.LastPath(filepath.Join(dir, "full")))
			if err != nil {
				t.Fatal(err)
			}
			b, err := nn.LoadCheckpoint(train.LastPath(noWarp.Out))
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(a.Tensors[headWeight].Data, b.Tensors[headWeight].Data) {
				t.Error("VTLP 0.15 trained the same head as no VTLP")
			}
		})
	}
}

// resumeMatches runs cfg twice under dir, once whole and once interrupted
// after 5 updates and resumed, and compares the two.
func resumeMatches(t *testing.T, dir string, cfg FinetuneConfig) {
	t.Helper()
	full := cfg
	full.Out = filepath.Join(dir, "full")
	if _, err := Finetune(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	half := cfg
	half.Out = filepath.Join(dir, "half")
	half.stopAt = 5
	if res, err := Finetune(context.Background(), half); err != nil || !res.Interrupted || res.Steps != 5 {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
	half.stopAt = 0
	half.Resume = true
	res, err := Finetune(context.Background(), half)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 8 {
		t.Fatalf("resumed run ended at step %d", res.Steps)
	}
	a, err := nn.LoadCheckpoint(train.LastPath(full.Out))
	if err != nil {
		t.Fatal(err)
	}
	b, err := nn.LoadCheckpoint(train.LastPath(half.Out))
	if err != nil {
		t.Fatal(err)
	}
	for name, ta := range a.Tensors {
		if !slices.Equal(ta.Data, b.Tensors[name].Data) {
			t.Errorf("tensor %s differs between the uninterrupted and the resumed run", name)
		}
	}
	ra, rb := readMetrics(t, full.Out), readMetrics(t, half.Out)
	strip := func(rows []map[string]any) []string {
		var out []string
		for _, r := range rows {
			delete(r, "audio_seconds") // identical, but keep the check on the rest
			b, _ := json.Marshal(r)
			out = append(out, string(b))
		}
		return out
	}
	if sa, sb := strip(ra), strip(rb); !slices.Equal(sa, sb) {
		t.Errorf("metrics differ:\n%s\n---\n%s", strings.Join(sa, "\n"), strings.Join(sb, "\n"))
	}
}

// pretrainedCheckpoint writes a pretraining checkpoint of the toy encoder.
func pretrainedCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	cfg := toyConfig()
	enc, err := encoder.New(cfg, testRNG(21))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{nn.MetaKind: "pretrain"}
	if err := nn.PutMetaJSON(meta, nn.MetaConfig, map[string]any{"encoder": cfg}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pretrained.safetensors")
	if err := nn.SaveCheckpoint(path, enc.Params(), nil, meta); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFinetuneFreezing: from a pretrained checkpoint, the feature encoder
// never changes, the rest of the body only after FreezeSteps, the head
// from the start.
func TestFinetuneFreezing(t *testing.T) {
	dir := t.TempDir()
	pre := pretrainedCheckpoint(t, dir)
	trainTSV := writeToyCorpus(t, dir, "train", 6, 4)
	cfg := finetuneConfig(func(c *FinetuneConfig) {
		c.Init = pre
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Valid = trainTSV
		c.Out = filepath.Join(dir, "run")
		c.MaxSteps = 6
		c.FreezeSteps = 3
		c.LR = 1e-3
		c.BatchSeconds = 4
		c.Seed = 2
		c.Log = quietLog(nil)
		c.stopAt = 3
	})
	if _, err := Finetune(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	start, err := FromPretrained(pre, toyVocab(t), testRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	changed := func(m *Model) (feature, body, head bool) {
		want := map[string][]float32{}
		for _, p := range start.Params() {
			want[p.Name] = p.Data
		}
		feat := map[string]bool{}
		for _, p := range m.Encoder.FeatureParams() {
			feat[p.Name] = true
		}
		for _, p := range m.Params() {
			diff := !slices.Equal(p.Data, want[p.Name])
			switch {
			case strings.HasPrefix(p.Name, "asr.head"):
				head = head || diff
			case feat[p.Name]:
				feature = feature || diff
			default:
				body = body || diff
			}
		}
		return
	}
	m, err := Load(train.LastPath(cfg.Out))
	if err != nil {
		t.Fatal(err)
	}
	if f, b, h := changed(m); f || b || !h {
		t.Errorf("after the frozen steps: feature encoder changed %t, body %t, head %t; want false, false, true", f, b, h)
	}
	cfg.stopAt, cfg.Resume = 0, true
	if _, err := Finetune(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if m, err = Load(train.LastPath(cfg.Out)); err != nil {
		t.Fatal(err)
	}
	if f, b, h := changed(m); f || !b || !h {
		t.Errorf("after unfreezing: feature encoder changed %t, body %t, head %t; want false, true, true", f, b, h)
	}

	// Adapting that recogniser (--init with a fine-tuned model) keeps its
	// feature encoder frozen and trains the rest.
	adapt := finetuneConfig(func(c *FinetuneConfig) {
		c.Init = train.LastPath(cfg.Out)
		c.Train = trainTSV
		c.Out = filepath.Join(dir, "adapt")
		c.MaxSteps = 2
		c.LR = 1e-3
		c.BatchSeconds = 4
		c.Seed = 3
		c.Log = quietLog(nil)
	})
	if _, err := Finetune(context.Background(), adapt); err != nil {
		t.Fatal(err)
	}
	start = m
	if m, err = Load(train.LastPath(adapt.Out)); err != nil {
		t.Fatal(err)
	}
	if f, b, h := changed(m); f || !b || !h {
		t.Errorf("adapted: feature encoder changed %t, body %t, head %t; want false, true, true", f, b, h)
	}
}

// TestFinetuneBlankOnly: a model that emits only blanks after the warm-up
// is reported in the log, the metrics and the result.
func TestFinetuneBlankOnly(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 4, 6)
	var log lockedBuffer
	out := filepath.Join(dir, "run")
	res, err := Finetune(context.Background(), finetuneConfig(func(c *FinetuneConfig) {
		c.Init = InitLogMel
		c.Encoder = toyConfig()
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Valid = trainTSV
		c.Out = out
		c.MaxSteps = 4
		c.LR = 1e-9
		c.BatchSeconds = 4
		c.ValidEvery = 2
		c.Log = quietLog(&log)
		c.afterInit = func(m *Model) { m.HeadB.Data[m.Vocab.Blank()] = 1000 }
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.BlankOnlyWarned || !strings.Contains(log.String(), "emits only blanks") || !strings.Contains(log.String(), "raise the learning rate") {
		t.Errorf("no blank-only warning: %+v\n%s", res, log.String())
	}
	found := false
	for _, r := range readMetrics(t, out) {
		found = found || r["blank_only"] == true
	}
	if !found {
		t.Error("metrics.jsonl has no blank_only row")
	}
}

// TestFinetuneSkipsBadUpdates: a batch whose loss is NaN is skipped and
// counted, never reaches the weights, and training goes on; an utterance
// whose label needs more frames than it has is left out with a warning.
func TestFinetuneSkipsBadUpdates(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 6, 7)
	// Give the first utterance a label far too long for its audio.
	ltr := filepath.Join(dir, "train.ltr")
	data, err := os.ReadFile(ltr)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("A B ", 200) + "|"
	lines := strings.SplitN(string(data), "\n", 2)
	if err := os.WriteFile(ltr, []byte(long+"\n"+lines[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	poisoned := 0
	out := filepath.Join(dir, "run")
	res, err := Finetune(context.Background(), finetuneConfig(func(c *FinetuneConfig) {
		c.Init = InitScratch
		c.Encoder = toyConfig()
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Out = out
		c.MaxSteps = 5
		c.LR = 1e-3
		c.BatchSeconds = 3
		c.LogEvery = 1
		c.Log = quietLog(&log)
		c.poison = func(step int) bool {
			if step == 2 && poisoned < 2 {
				poisoned++
				return true
			}
			return false
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 5 || res.SkippedUpdates != 2 || res.SkippedUtts == 0 {
		t.Errorf("result %+v: want 5 steps, 2 skipped updates, skipped utterances", res)
	}
	if !strings.Contains(log.String(), "label is longer than its frames") {
		t.Errorf("no warning about the long label:\n%s", log.String())
	}
	m, err := Load(train.LastPath(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		for _, v := range p.Data {
			if !train.Finite(float64(v)) {
				t.Fatalf("%s holds %g", p.Name, v)
			}
		}
	}
	skipRows := 0
	for _, r := range readMetrics(t, out) {
		if r["skipped"] == true {
			skipRows++
		}
	}
	if skipRows != 2 {
		t.Errorf("%d skipped rows in metrics, want 2", skipRows)
	}
}

// TestFinetuneFromRecogniser: a fine-tuned model as the init is trained on
// whole, head included, from exactly its weights, with a new schedule; a
// vocabulary other than its own is refused; InitModel starts from the model
// given.
func TestFinetuneFromRecogniser(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 6, 4)
	first := finetuneConfig(func(c *FinetuneConfig) {
		c.Init = InitLogMel
		c.Encoder = toyConfig()
		c.Vocab = toyVocab(t)
		c.Train = trainTSV
		c.Valid = trainTSV
		c.Out = filepath.Join(dir, "first")
		c.MaxSteps = 3
		c.LR = 1e-3
		c.BatchSeconds = 4
		c.Seed = 2
		c.Log = quietLog(nil)
	})
	if _, err := Finetune(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	src := train.LastPath(first.Out)
	var got map[string][]float32
	capture := func(m *Model) {
		got = map[string][]float32{}
		for _, p := range m.Params() {
			got[p.Name] = slices.Clone(p.Data)
		}
	}
	same := func(want *Model, what string) {
		t.Helper()
		if len(got) != len(want.Params()) {
			t.Fatalf("%s: %d parameters at the start, want %d", what, len(got), len(want.Params()))
		}
		for _, p := range want.Params() {
			if !slices.Equal(got[p.Name], p.Data) {
				t.Errorf("%s: %s at the start is not the init's", what, p.Name)
			}
		}
	}

	next := finetuneConfig(func(c *FinetuneConfig) {
		c.Init = src
		c.Train = trainTSV
		c.Valid = trainTSV
		c.Out = filepath.Join(dir, "next")
		c.MaxSteps = 2
		c.LR = 1e-3
		c.BatchSeconds = 4
		c.Seed = 3
		c.Log = quietLog(nil)
		c.afterInit = capture
	})
	res, err := Finetune(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	start, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	same(start, "from a fine-tuned model")
	end, err := Load(train.LastPath(next.Out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 2 || end.Config.Init != InitLogMel || !slices.Equal(end.Vocab.Symbols(), toyVocab(t).Symbols()) {
		t.Errorf("continued run: %d steps, init %q, vocabulary %q", res.Steps, end.Config.Init, end.Vocab.Symbols())
	}
	if slices.Equal(end.HeadW.Data, start.HeadW.Data) || slices.Equal(end.HeadB.Data, start.HeadB.Data) {
		t.Error("the head did not train")
	}

	// Another vocabulary: the body carries over and a new head covers it.
	var logs lockedBuffer
	other := next
	other.Out, other.Vocab, other.Log = filepath.Join(dir, "other"), dataset.DefaultVocab(), quietLog(&logs)
	if _, err := Finetune(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if n := len(got[headBias]); n != dataset.DefaultVocab().Size() {
		t.Errorf("new head of %d outputs, want %d", n, dataset.DefaultVocab().Size())
	}
	for _, p := range start.bodyParams() {
		if !slices.Equal(got[p.Name], p.Data) {
			t.Errorf("new head: the body's %s at the start is not the init's", p.Name)
		}
	}
	if !strings.Contains(logs.String(), "new CTC head") {
		t.Errorf("no log line says the head was replaced: %q", logs.String())
	}

	inMemory, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	adapt := finetuneConfig(func(c *FinetuneConfig) {
		c.InitModel = inMemory
		c.Train = trainTSV
		c.Out = filepath.Join(dir, "in-memory")
		c.MaxSteps = 1
		c.LR = 1e-4
		c.BatchSeconds = 4
		c.Seed = 3
		c.Log = quietLog(nil)
		c.afterInit = capture
	})
	if _, err := Finetune(context.Background(), adapt); err != nil {
		t.Fatal(err)
	}
	same(start, "from a model in memory")
}

// finetuneConfig is DefaultFinetuneConfig changed by set.
func finetuneConfig(set func(c *FinetuneConfig)) FinetuneConfig {
	c := DefaultFinetuneConfig()
	set(&c)
	return c
}

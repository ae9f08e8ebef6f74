package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// toyTone renders a word of letters A-E as 80 ms tones (one pitch per
// letter) with pauses, at 16 kHz.
func toyTone(rng *rand.Rand, text string) []float32 {
	x := make([]float32, 1600)
	for _, c := range text {
		n := 1280
		if c == ' ' {
			x = append(x, make([]float32, 3200)...)
			continue
		}
		f := []float64{260, 410, 650, 1030, 1640}[c-'A']
		for i := range n {
			x = append(x, float32(0.3*math.Sin(math.Pi*float64(i)/float64(n))*math.Sin(2*math.Pi*f*float64(i)/audio.SampleRate)))
		}
		x = append(x, make([]float32, 480)...)
	}
	x = append(x, make([]float32, 1600)...)
	for i := range x {
		x[i] += float32(0.01 * rng.NormFloat64())
	}
	return x
}

// writeToyData writes n toy utterances with .ltr and .wrd labels into dir
// and returns the manifest's path.
func writeToyData(t *testing.T, dir, name string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var tsv, ltr, wrd strings.Builder
	fmt.Fprintln(&tsv, dir)
	for i := range n {
		var words []string
		for range 2 + rng.IntN(2) {
			w := ""
			for range 1 + rng.IntN(3) {
				w += string(rune('A' + rng.IntN(5)))
			}
			words = append(words, w)
		}
		text := strings.Join(words, " ")
		file := fmt.Sprintf("%s-%02d.wav", name, i)
		x := toyTone(rng, text)
		if err := audio.WriteFile(filepath.Join(dir, file), x, audio.SampleRate); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&tsv, "%s\t%d\n", file, len(x))
		fmt.Fprintln(&ltr, dataset.WordsToLetters(text))
		fmt.Fprintln(&wrd, text)
	}
	for ext, s := range map[string]string{"tsv": tsv.String(), "ltr": ltr.String(), "wrd": wrd.String()} {
		if err := os.WriteFile(filepath.Join(dir, name+"."+ext), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name+".tsv")
}

// smallConfig writes an encoder config small enough for CLI tests.
func smallConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "small.json")
	cfg := `{"encoder": {"conv_dim": 16, "dim": 32, "context_dilations": [1, 2, 4, 8, 16, 1, 2, 4], "dropout": 0.1}}`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// toyRun fine-tunes a small model for a few steps and returns the data
// folder, the run folder and the manifests.
func toyRun(t *testing.T, init string, steps int) (dir, out, trainTSV, validTSV string) {
	t.Helper()
	dir = t.TempDir()
	trainTSV = writeToyData(t, dir, "train", 8, 1)
	validTSV = writeToyData(t, dir, "valid", 3, 2)
	out = filepath.Join(dir, "run")
	code, _, errOut := runCLI(t, "finetune", "--init", init, "--config", smallConfig(t, dir), "--train", trainTSV, "--valid", validTSV,
		"--out", out, "--max-steps", fmt.Sprint(steps), "--valid-every", "2", "--log-every", "1", "--batch-seconds", "4", "-q")
	if code != exitOK {
		t.Fatalf("finetune: exit %d:\n%s", code, errOut)
	}
	return dir, out, trainTSV, validTSV
}

func TestFinetuneUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--train", "t.tsv", "--valid", "v.tsv", "--out", "o"}, "--init is required"},
		{[]string{"--init", "scratch", "--valid", "v.tsv", "--out", "o"}, "--train is required"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--out", "o"}, "--valid is required"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--valid", "v.tsv"}, "--out is required"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--valid", "v.tsv", "--out", "o", "--max-steps", "0"}, "--max-steps 0: want at least 1"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--valid", "v.tsv", "--out", "o", "--mask-prob", "2"}, "--mask-prob 2: want 0 to 1"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--valid", "v.tsv", "--out", "o", "--lr", "-1"}, "--lr -1: want a positive number"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--valid", "v.tsv", "--out", "o", "--body-lr-scale", "0"}, "--body-lr-scale 0: want a positive number"},
		{[]string{"--init", "scratch", "--train", "t.tsv", "--valid", "v.tsv", "--out", "o", "--clip-norm", "-1", "--log-every", "0"}, "--log-every 0: want at least 1\nwav2vec finetune: --clip-norm -1: want 0 (none) or a positive number\n"},
		{[]string{"--init", "logmel", "--train", "t.tsv", "--valid", "v.tsv", "--out", "o", "--vtlp", "0.5"}, "--vtlp 0.5: want 0 to 0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, _, errOut := runCLI(t, append([]string{"finetune"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, tt.want)
			}
		})
	}
	code, out, errOut := runCLI(t, "finetune", "-h")
	if code != exitOK || !strings.Contains(out+errOut, "-freeze-steps") || !strings.Contains(out+errOut, "unfair baseline") {
		t.Errorf("-h: exit %d\n%s%s", code, out, errOut)
	}
}

func TestFinetuneErrors(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyData(t, dir, "train", 2, 1)
	if err := os.Remove(filepath.Join(dir, "train.ltr")); err != nil {
		t.Fatal(err)
	}
	labeledTSV := writeToyData(t, dir, "labeled", 2, 1)
	bare := filepath.Join(dir, "bare.json")
	if err := os.WriteFile(bare, []byte(`{"dim": 32}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing ltr", []string{"--init", "scratch", "--train", trainTSV, "--valid", trainTSV}, "train.ltr does not exist"},
		{"missing checkpoint", []string{"--init", filepath.Join(dir, "nope.safetensors"), "--train", trainTSV, "--valid", trainTSV}, "nope.safetensors"},
		{"resume without checkpoint", []string{"--resume", "--train", trainTSV, "--valid", trainTSV}, "checkpoint_last.safetensors"},
		{"bad config", []string{"--init", "scratch", "--config", "huge", "--train", trainTSV, "--valid", trainTSV}, `config "huge"`},
		{"bare encoder config", []string{"--init", "scratch", "--config", bare, "--train", trainTSV, "--valid", trainTSV}, `unknown field "dim" (finetune --config takes pretrain's shape: {"encoder": {...}})`},
		{"vtlp on the waveform", []string{"--init", "scratch", "--vtlp", "0.1", "--train", labeledTSV, "--valid", labeledTSV}, "VTLP warps log-mel features"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"finetune", "--out", filepath.Join(dir, "out"), "-q"}, tt.args...)
			code, _, errOut := runCLI(t, args...)
			if code != exitFail || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "panic") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestFinetuneRunAndResume(t *testing.T) {
	dir, out, trainTSV, validTSV := toyRun(t, "scratch", 4)
	for _, f := range []string{train.LastPath(out), train.BestPath(out), filepath.Join(out, train.MetricsFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	m, err := asr.Load(train.BestPath(out))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Init != asr.InitScratch || m.Config.Encoder.Dim != 32 {
		t.Errorf("best model config %+v", m.Config)
	}
	// Resume to 6 steps: the metrics go on from step 4.
	code, _, errOut := runCLI(t, "finetune", "--resume", "--train", trainTSV, "--valid", validTSV, "--out", out,
		"--max-steps", "6", "--valid-every", "2", "--log-every", "1", "--batch-seconds", "4", "-q")
	if code != exitOK {
		t.Fatalf("resume: exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "6 steps done") {
		t.Errorf("resume summary:\n%s", errOut)
	}
	f, err := os.Open(filepath.Join(out, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var trainSteps []int
	validKeys := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		if _, ok := row["loss"]; ok {
			trainSteps = append(trainSteps, int(row["step"].(float64)))
			for _, k := range []string{"lr", "grad_norm", "skipped_updates", "skipped_utterances"} {
				if _, ok := row[k]; !ok {
					t.Errorf("metrics row lacks %q: %s", k, sc.Text())
				}
			}
		}
		if _, ok := row["valid_wer"]; ok {
			validKeys++
			if _, ok := row["valid_cer"]; !ok {
				t.Errorf("validation row lacks valid_cer: %s", sc.Text())
			}
		}
	}
	if fmt.Sprint(trainSteps) != "[1 2 3 4 5 6]" || validKeys != 3 {
		t.Errorf("training rows at steps %v, %d validation rows; want 1-6 and 3", trainSteps, validKeys)
	}
	_ = dir
}

func TestFinetuneLogMel(t *testing.T) {
	_, out, _, _ := toyRun(t, "logmel", 2)
	m, err := asr.Load(train.LastPath(out))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Encoder.Input != "logmel" || m.Config.Init != asr.InitLogMel {
		t.Errorf("logmel run made %+v", m.Config)
	}
}

// TestFinetuneResumeKeepsSettings resumes a run started with a
// non-default learning rate without passing it again: the resumed updates
// follow the run's own schedule, and --max-steps still extends it.
func TestFinetuneResumeKeepsSettings(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyData(t, dir, "train", 8, 1)
	validTSV := writeToyData(t, dir, "valid", 3, 2)
	out := filepath.Join(dir, "run")
	code, _, errOut := runCLI(t, "finetune", "--init", "scratch", "--config", smallConfig(t, dir), "--train", trainTSV, "--valid", validTSV,
		"--out", out, "--max-steps", "4", "--lr", "0.0037", "--valid-every", "2", "--log-every", "1", "--batch-seconds", "4", "-q")
	if code != exitOK {
		t.Fatalf("finetune: exit %d:\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, "finetune", "--resume", "--train", trainTSV, "--valid", validTSV, "--out", out,
		"--max-steps", "6", "--valid-every", "2", "--log-every", "1", "-q")
	if code != exitOK {
		t.Fatalf("resume: exit %d:\n%s", code, errOut)
	}
	sched := nn.TriStage{Peak: 0.0037, Total: 6}
	seen := 0
	run, err := readRun(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range run.rows {
		step, lr := row["step"], row["lr"]
		if lr == nil || step.(float64) <= 4 {
			continue
		}
		seen++
		if want := sched.LR(int(step.(float64))); math.Abs(lr.(float64)-want) > 1e-12 {
			t.Errorf("step %v: lr %v, want %v (the run's peak 0.0037 over 6 steps)", step, lr, want)
		}
	}
	if seen != 2 {
		t.Errorf("%d resumed training rows, want 2", seen)
	}
}

// TestFinetuneSummaryCountsSkips: a manifest row whose file is missing is
// counted in the closing summary, and a row whose count disagrees with its
// file is reported on stderr with the file and both counts and trained on.
func TestFinetuneSummaryCountsSkips(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyData(t, dir, "train", 4, 1)
	f, err := audio.ReadFileConfig(filepath.Join(dir, "train-00.wav"))
	if err != nil {
		t.Fatal(err)
	}
	for ext, line := range map[string]string{"tsv": "gone.wav\t16000\ntrain-00.wav\t10\n", "ltr": "A B |\nA B |\n", "wrd": "AB\nAB\n"} {
		path := filepath.Join(dir, "train."+ext)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, line...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := runCLI(t, "finetune", "--init", "scratch", "--config", smallConfig(t, dir), "--train", trainTSV, "--valid", trainTSV,
		"--out", filepath.Join(dir, "run"), "--max-steps", "1", "--batch-seconds", "4", "-q")
	if code != exitOK {
		t.Fatalf("finetune: exit %d:\n%s", code, errOut)
	}
	// The row is in both the training and the validation manifest.
	for _, want := range []string{
		"1 steps done (0 updates skipped, 2 utterances skipped)",
		fmt.Sprintf("line 7: train-00.wav: manifest says 10 samples, the file has %d", f.Frames),
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	var skips []string
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, "skipping utterance") {
			skips = append(skips, line)
		}
	}
	if len(skips) != 2 || !strings.Contains(skips[0], "gone.wav") || !strings.Contains(skips[1], "gone.wav") {
		t.Errorf("skip warnings %q: want gone.wav, in training and validation, and nothing else", skips)
	}
}

// TestFinetunePublishedInit: --init takes a published pretrained body and
// gives it the transformer defaults, the freeze scaled to --max-steps,
// with flags overriding them; the result transcribes; layerdrop on a
// convolutional body is refused.
func TestFinetunePublishedInit(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyData(t, dir, "train", 4, 1)
	body := filepath.Join("..", "..", "published", "testdata", "w2v2-base")
	out := filepath.Join(dir, "ft")
	code, _, errOut := runCLI(t, "finetune", "--init", body, "--train", trainTSV, "--valid", trainTSV, "--out", out,
		"--max-steps", "30", "--activation-dropout", "0.2", "-q")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	s, ok := asr.LastFinetuneSettings(out)
	want := asr.TransformerFinetuneSettings()
	if !ok || s.LR != want.LR || s.LayerDrop != want.LayerDrop || s.MaskChannelProb != want.MaskChannelProb ||
		s.FreezeSteps != 3 || s.ActivationDropout != 0.2 || s.MaxSteps != 30 {
		t.Errorf("recorded settings %+v", s)
	}
	code, stdout, errOut := runCLI(t, "transcribe", "--model", filepath.Join(out, "checkpoint_last.safetensors"), "--lm", "none", "--lexicon", "none",
		filepath.Join(dir, "train-00.wav"))
	if code != exitOK {
		t.Errorf("transcribe: exit %d\n%s%s", code, stdout, errOut)
	}
	hf := filepath.Join(dir, "hf")
	if code, _, errOut := runCLI(t, "convert", "--to", "hf", filepath.Join(out, "checkpoint_last.safetensors"), hf); code != exitOK {
		t.Fatalf("convert --to hf: exit %d\n%s", code, errOut)
	}
	code, again, errOut := runCLI(t, "transcribe", "--model", hf, "--lm", "none", "--lexicon", "none", filepath.Join(dir, "train-00.wav"))
	if code != exitOK || again != stdout {
		t.Errorf("the Hugging Face folder transcribes %q (exit %d, %s), the checkpoint %q", again, code, errOut, stdout)
	}
	code, _, errOut = runCLI(t, "finetune", "--init", "scratch", "--layerdrop", "0.1", "--train", trainTSV, "--valid", trainTSV,
		"--out", filepath.Join(dir, "conv"), "--max-steps", "1", "-q")
	if code != exitFail || !strings.Contains(errOut, "transformer bodies") {
		t.Errorf("layerdrop on a conv body: exit %d\n%s", code, errOut)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// quickPretrainConfig is a very small model for CLI tests.
const quickPretrainConfig = `{
  "encoder": {"conv_dim": 16, "dim": 16, "context_dilations": [1, 2], "dropout": 0},
  "quantizer": {"codes": 8, "dim": 16},
  "pretrain": {"final_dim": 16, "negatives": 4, "crop_seconds": 0.5, "batch_seconds": 1, "log_interval": 1, "valid_interval": 2, "warmup": 2}
}`

// writeTones writes n WAV files of 0.7 s of tone sweeps into dir and a
// manifest of them, and returns the manifest's path and the files.
func writeTones(t *testing.T, dir string, n int) (string, []string) {
	t.Helper()
	var m strings.Builder
	m.WriteString(dir + "\n")
	var files []string
	for i := range n {
		x := make([]float32, 11200)
		for j := range x {
			f := 150 + 50*float64(i) + 200*float64(j)/float64(len(x))
			x[j] = float32(0.2 * math.Sin(2*math.Pi*f*float64(j)/16000))
		}
		var buf bytes.Buffer
		if err := audio.Encode(&buf, x, 16000); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("tone%d.wav", i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		fmt.Fprintf(&m, "%s\t%d\n", name, len(x))
	}
	tsv := filepath.Join(dir, "train.tsv")
	if err := os.WriteFile(tsv, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return tsv, files
}

func TestPretrainAndExtract(t *testing.T) {
	dir := t.TempDir()
	tsv, wavs := writeTones(t, dir, 4)
	cfg := filepath.Join(dir, "quick.json")
	if err := os.WriteFile(cfg, []byte(quickPretrainConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runCLI(t, "pretrain", "--train", tsv, "--valid", tsv, "--out", out, "--config", cfg, "--max-steps", "4", "-q")
	if code != exitOK {
		t.Fatalf("pretrain exit %d\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("pretrain wrote to stdout: %q", stdout)
	}
	if !strings.Contains(stderr, "4 steps done") {
		t.Errorf("stderr %q: want the summary", stderr)
	}
	metrics, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"contrastive"`, `"perplexity"`, `"lr"`, `"accuracy"`, `"temperature"`, `"valid_loss"`, `"skipped_files"`} {
		if !strings.Contains(string(metrics), key) {
			t.Errorf("metrics.jsonl lacks %s:\n%s", key, metrics)
		}
	}
	ckpt := filepath.Join(out, "checkpoint_last.safetensors")
	for _, f := range []string{ckpt, filepath.Join(out, "checkpoint_best.safetensors")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	// Resuming a finished run with more steps continues it.
	code, _, stderr = runCLI(t, "pretrain", "--train", tsv, "--out", out, "--max-steps", "5", "--resume", "-q")
	if code != exitOK || !strings.Contains(stderr, "resuming") || !strings.Contains(stderr, "5 steps done") {
		t.Fatalf("resume exit %d\n%s", code, stderr)
	}

	// extract: one .npy per good file, one line naming the bad one, exit 1.
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("RIFF nonsense"), 0o644); err != nil {
		t.Fatal(err)
	}
	feats := filepath.Join(dir, "feats")
	code, stdout, stderr = runCLI(t, "extract", "--model", ckpt, "--layer", "c", "--out", feats, "-q", wavs[0], bad, wavs[1])
	if code != exitFail {
		t.Errorf("extract with a bad file: exit %d, want %d\n%s", code, exitFail, stderr)
	}
	if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "bad.wav") {
		t.Errorf("stdout %q, stderr %q: want one line naming bad.wav", stdout, stderr)
	}
	for _, name := range []string{"tone0.npy", "tone1.npy"} {
		data, err := os.ReadFile(filepath.Join(feats, name))
		if err != nil {
			t.Fatal(err)
		}
		hl := int(binary.LittleEndian.Uint16(data[8:10]))
		header := string(data[10 : 10+hl])
		// 11200 samples give 68 frames; the context network has 16 channels.
		if !strings.Contains(header, "'shape': (68, 16)") || len(data) != 10+hl+4*68*16 {
			t.Errorf("%s: header %q, %d bytes", name, header, len(data))
		}
	}
}

func TestPretrainUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pretrain"}, exitUsage, "--train is required"},
		{[]string{"pretrain", "--train", "x.tsv"}, exitUsage, "--out is required"},
		{[]string{"pretrain", "--train", "x.tsv", "--out", "d", "--max-steps", "-1"}, exitUsage, "--max-steps"},
		{[]string{"pretrain", "-h"}, exitOK, "-resume"},
		{[]string{"pretrain", "--train", "missing.tsv", "--out", "OUT"}, exitFail, "missing.tsv"},
		{[]string{"pretrain", "--train", "x.tsv", "--out", "OUT", "--config", "nosuch.json"}, exitFail, "nosuch.json"},
		{[]string{"extract"}, exitUsage, "--model is required"},
		{[]string{"extract", "--model", "m", "--out", "d", "--layer", "x", "a.wav"}, exitUsage, "--layer"},
		{[]string{"extract", "--model", "m", "--out", "d"}, exitUsage, "no input files"},
		{[]string{"extract", "--model", "missing.safetensors", "--out", "OUT", "a.wav"}, exitFail, "missing.safetensors"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := make([]string, len(tc.args))
			dir := t.TempDir()
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "OUT", filepath.Join(dir, "out"))
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; output %q, want %q", code, tc.code, stdout.String()+stderr.String(), tc.want)
			}
		})
	}
}

// TestPretrainLogMel pretrains on log-mel features and fine-tunes from
// the checkpoint: the recogniser reads log-mel features too.
func TestPretrainLogMel(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyData(t, dir, "train", 6, 1)
	cfg := filepath.Join(dir, "quick.json")
	logmel := strings.Replace(quickPretrainConfig, `"encoder": {`, `"encoder": {"input": "logmel", `, 1)
	if err := os.WriteFile(cfg, []byte(logmel), 0o644); err != nil {
		t.Fatal(err)
	}
	pre := filepath.Join(dir, "pre")
	code, _, stderr := runCLI(t, "pretrain", "--train", trainTSV, "--out", pre, "--config", cfg, "--max-steps", "3", "-q")
	if code != exitOK {
		t.Fatalf("pretrain exit %d\n%s", code, stderr)
	}
	ft := filepath.Join(dir, "ft")
	code, _, stderr = runCLI(t, "finetune", "--init", train.LastPath(pre), "--train", trainTSV, "--valid", trainTSV,
		"--out", ft, "--max-steps", "2", "--batch-seconds", "4", "-q")
	if code != exitOK {
		t.Fatalf("finetune exit %d\n%s", code, stderr)
	}
	m, err := asr.Load(train.LastPath(ft))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Encoder.Input != "logmel" || m.Config.Init != asr.InitPretrained {
		t.Errorf("fine-tuned model %+v: want the logmel input and a pretrained init", m.Config)
	}
}

// quickTransformerConfig is a very small wav2vec 2.0 transformer for CLI
// tests.
const quickTransformerConfig = `{
  "transformer": {"conv_dim": [16, 16, 16, 16, 16], "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                  "intermediate_size": 32, "num_conv_pos_embeddings": 8, "num_conv_pos_embedding_groups": 4},
  "quantizer": {"codes": 8, "dim": 16},
  "pretrain": {"final_dim": 16, "negatives": 4, "crop_seconds": 0.5, "batch_seconds": 1, "log_every": 1, "valid_every": 2, "warmup": 2}
}`

// TestPretrainTransformer pretrains a transformer, fine-tunes from its
// checkpoint, writes it in Hugging Face's layout, continues pretraining
// that folder (pretrain --init) and extracts features from it.
func TestPretrainTransformer(t *testing.T) {
	dir := t.TempDir()
	tsv, wavs := writeTones(t, dir, 4)
	cfg := filepath.Join(dir, "quick.json")
	if err := os.WriteFile(cfg, []byte(quickTransformerConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	code, _, stderr := runCLI(t, "pretrain", "--train", tsv, "--out", out, "--config", cfg, "--max-steps", "3", "-q")
	if code != exitOK {
		t.Fatalf("pretrain exit %d\n%s", code, stderr)
	}
	ckpt := train.LastPath(out)
	trainTSV := writeToyData(t, dir, "labeled", 4, 1)
	code, _, stderr = runCLI(t, "finetune", "--init", ckpt, "--train", trainTSV, "--valid", trainTSV, "--out", filepath.Join(dir, "ft"), "--max-steps", "2", "-q")
	if code != exitOK {
		t.Fatalf("finetune --init of a transformer pretraining checkpoint: exit %d\n%s", code, stderr)
	}
	hf := filepath.Join(dir, "hf")
	code, _, stderr = runCLI(t, "convert", "--to", "hf", ckpt, hf)
	if code != exitOK || !strings.Contains(stderr, "Wav2Vec2ForPreTraining") {
		t.Fatalf("convert --to hf: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "convert", ckpt, filepath.Join(dir, "x.safetensors"))
	if code != exitUsage || !strings.Contains(stderr, "pretraining checkpoint") {
		t.Errorf("convert --to toolkit of a pretraining checkpoint: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "pretrain", "--train", tsv, "--out", filepath.Join(dir, "more"), "--init", hf, "--config", cfg, "--max-steps", "2", "-q")
	if code != exitOK || !strings.Contains(stderr, "continuing a published model") {
		t.Fatalf("pretrain --init of the folder: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "pretrain", "--train", tsv, "--out", filepath.Join(dir, "more"), "--init", hf, "--resume", "-q")
	if code != exitUsage {
		t.Errorf("--init with --resume: exit %d\n%s", code, stderr)
	}
	// The checkpoint and the folder give the same features.
	for i, model := range []string{ckpt, hf} {
		feats := filepath.Join(dir, fmt.Sprintf("feats%d", i))
		if code, _, stderr := runCLI(t, "extract", "--model", model, "--layer", "c", "--out", feats, "-q", wavs[0]); code != exitOK {
			t.Fatalf("extract --model %s: exit %d\n%s", model, code, stderr)
		}
	}
	a, errA := os.ReadFile(filepath.Join(dir, "feats0", "tone0.npy"))
	b, errB := os.ReadFile(filepath.Join(dir, "feats1", "tone0.npy"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("the Hugging Face folder's features differ from the checkpoint's (%v, %v)", errA, errB)
	}
}

// TestPretrainData2vec pretrains with data2vec's teacher targets on both
// context networks for a few updates, then fine-tunes from the checkpoint
// (finetune --init), extracts its context vectors and probes them: the
// student's body is what they load, the head and the teacher are left
// out. The metrics hold the regression loss and the targets' variance.
// The convolutional run has data2vec 2.0's decoder, also left out.
func TestPretrainData2vec(t *testing.T) {
	teacher := `"targets": "teacher", "average_top_k_layers": 2, `
	decoder := `"decoder_layers": 2, "decoder_dim": 16, "decoder_kernel": 3, "decoder_groups": 4, `
	for name, conf := range map[string]string{"conv": strings.Replace(quickPretrainConfig, `"pretrain": {`, `"pretrain": {`+decoder, 1), "transformer": quickTransformerConfig} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tsv, wavs := writeTones(t, dir, 4)
			cfg := filepath.Join(dir, "quick.json")
			if err := os.WriteFile(cfg, []byte(strings.Replace(conf, `"pretrain": {`, `"pretrain": {`+teacher, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "run")
			code, _, stderr := runCLI(t, "pretrain", "--train", tsv, "--valid", tsv, "--out", out, "--config", cfg, "--max-steps", "3", "-q")
			if code != exitOK || !strings.Contains(stderr, "3 steps done") {
				t.Fatalf("pretrain exit %d\n%s", code, stderr)
			}
			metrics, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{`"regression"`, `"target_var"`, `"ema_decay"`, `"valid_target_var"`} {
				if !strings.Contains(string(metrics), key) {
					t.Errorf("metrics.jsonl lacks %s:\n%s", key, metrics)
				}
			}
			ckpt := train.LastPath(out)
			ck, err := nn.LoadCheckpoint(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := ck.Tensors["pretrain.decoder.blocks.1.conv.weight"]; ok != (name == "conv") {
				t.Errorf("%s: the checkpoint has the decoder's second block: %v", name, ok)
			}
			labeled := writeToyData(t, dir, "labeled", 4, 1)
			ft := filepath.Join(dir, "ft")
			code, _, stderr = runCLI(t, "finetune", "--init", ckpt, "--train", labeled, "--valid", labeled, "--out", ft, "--max-steps", "2", "--batch-seconds", "4", "-q")
			if code != exitOK {
				t.Fatalf("finetune --init of a data2vec checkpoint: exit %d\n%s", code, stderr)
			}
			m, err := asr.Load(train.LastPath(ft))
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.Init != asr.InitPretrained {
				t.Errorf("fine-tuned model init %q, want %q", m.Config.Init, asr.InitPretrained)
			}
			feats := filepath.Join(dir, "feats")
			if code, _, stderr := runCLI(t, "extract", "--model", ckpt, "--layer", "c", "--out", feats, "-q", wavs[0]); code != exitOK {
				t.Fatalf("extract --layer c: exit %d\n%s", code, stderr)
			}
			if code, _, stderr := runCLI(t, "extract", "--model", ckpt, "--layer", "q", "--out", feats, "-q", wavs[0]); code == exitOK || !strings.Contains(stderr, "no trained quantizer") {
				t.Errorf("extract --layer q of a data2vec checkpoint: exit %d\n%s", code, stderr)
			}
			if code, out, stderr := runCLI(t, "probe", "--model", ckpt, "--train", labeled, "--test", labeled, "--max-utts", "2", "-q"); code != exitOK || !strings.Contains(out, "layer c") {
				t.Errorf("probe of a data2vec checkpoint: exit %d\n%s\n%s", code, out, stderr)
			}
		})
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/internal/safetensorstest"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/train"
)

// doctor rewrites the checkpoint at path in place with its config's
// encoder.dim set to dim, the tensors unchanged, byte for byte.
func doctor(t *testing.T, path string, dim int) {
	t.Helper()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var config map[string]json.RawMessage
	var enc map[string]any
	if err := json.Unmarshal([]byte(safetensorstest.Meta(t, file, nn.MetaConfig)), &config); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(config["encoder"], &enc); err != nil {
		t.Fatal(err)
	}
	enc["dim"] = dim
	if config["encoder"], err = json.Marshal(enc); err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	cs := string(c)
	if err := os.WriteFile(path, safetensorstest.WithMeta(t, file, nn.MetaConfig, &cs), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDoctoredCheckpoints: every command that reads a model or checkpoint
// refuses one whose config claims an encoder.dim its tensors do not have
// (100000, 120 GB of weights, beyond the limit; 4096, within it) with
// exit 1 and a message naming the file and the field, not a crash of the
// runtime.
func TestDoctoredCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := encoder.Tiny()
	cfg.ConvDim, cfg.Dim, cfg.ContextDilations = 8, 8, []int{1, 2}
	m, err := asr.New(cfg, nil, asr.InitScratch, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	pcfg := pretrain.TinyConfig()
	pcfg.Encoder = cfg
	tr, err := pretrain.NewTrainer(pcfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "asr", train.LastPath(""))
	pre := filepath.Join(dir, "pre", train.LastPath(""))
	valid := filepath.Join(dir, "pre-valid.safetensors") // for probe --align
	for _, d := range []string{filepath.Dir(model), filepath.Dir(pre)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Save(valid); err != nil {
		t.Fatal(err)
	}
	tsv := writeToyData(t, dir, "data", 2, 1)
	wav := filepath.Join(dir, "data-00.wav")
	out := filepath.Join(dir, "out")

	tests := []struct {
		name string
		file string
		args []string
	}{
		{"transcribe --model", model, []string{"transcribe", "--model", model, wav}},
		{"eval --model", model, []string{"eval", "--model", model, "--data", tsv}},
		{"finetune --init model", model, []string{"finetune", "--init", model, "--train", tsv, "--valid", tsv, "--out", out, "-q"}},
		{"finetune --init pretrained", pre, []string{"finetune", "--init", pre, "--train", tsv, "--valid", tsv, "--out", out, "-q"}},
		{"finetune --resume", model, []string{"finetune", "--resume", "--train", tsv, "--valid", tsv, "--out", filepath.Dir(model), "-q"}},
		{"pretrain --resume", pre, []string{"pretrain", "--resume", "--train", tsv, "--out", filepath.Dir(pre), "-q"}},
		{"extract --model", pre, []string{"extract", "--model", pre, "--out", out, wav}},
		{"probe --model", pre, []string{"probe", "--model", pre, "--train", tsv, "--test", tsv, "-q"}},
		{"probe --align", model, []string{"probe", "--model", valid, "--align", model, "--train", tsv, "--test", tsv, "-q"}},
	}
	for _, dc := range []struct {
		dim  int
		want string
	}{
		{100000, "config: encoder: dim 100000 is beyond the limit 8192"},
		{4096, "config encoder.dim 4096 does not match tensor encoder.proj.weight [8 8]"},
	} {
		if err := m.Save(model); err != nil {
			t.Fatal(err)
		}
		if err := tr.Save(pre); err != nil {
			t.Fatal(err)
		}
		doctor(t, model, dc.dim)
		doctor(t, pre, dc.dim)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s dim %d", tt.name, dc.dim), func(t *testing.T) {
				code, _, stderr := runCLI(t, tt.args...)
				if code != exitFail || !strings.Contains(stderr, tt.file) || !strings.Contains(stderr, dc.want) ||
					strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
					t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and a message naming %s and saying %q", code, stderr, tt.file, dc.want)
				}
			})
		}
	}
}

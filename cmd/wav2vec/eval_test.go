package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/train"
)

func TestEvalUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--data", "d.tsv"}, "--model is required"},
		{[]string{"--model", "m.safetensors"}, "--data is required"},
		{[]string{"--model", "m", "--data", "d", "--beam", "-3"}, "--beam"},
		{[]string{"--model", "m", "--data", "d", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, _, errOut := runCLI(t, append([]string{"eval"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	dir, out, _, validTSV := toyRun(t, "scratch", 2)
	model := train.BestPath(out)

	code, stdout, stderr := runCLI(t, "eval", "--model", model, "--data", validTSV, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	for _, k := range []string{"wer", "cer", "utterances", "audio_seconds", "rtf"} {
		v, ok := res[k].(float64)
		if !ok || math.IsNaN(v) || v < 0 {
			t.Errorf("key %q: %v", k, res[k])
		}
	}
	if res["utterances"].(float64) != 3 || res["audio_seconds"].(float64) < 1 {
		t.Errorf("result %v", res)
	}

	code, stdout, stderr = runCLI(t, "eval", "--model", model, "--data", validTSV, "--beam", "4")
	if code != exitOK || !strings.Contains(stdout, "WER ") || !strings.Contains(stdout, "CER ") || !strings.Contains(stdout, "3 utterances") {
		t.Errorf("text output: exit %d\n%s%s", code, stdout, stderr)
	}

	// Empty references: the rates stay finite numbers.
	for _, ext := range []string{"wrd", "ltr"} {
		if err := os.WriteFile(filepath.Join(dir, "valid."+ext), []byte("\n\n\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = runCLI(t, "eval", "--model", model, "--data", validTSV, "--json")
	if code != exitOK {
		t.Fatalf("empty references: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("empty references: %v\n%s", err, stdout)
	}

	// No labels at all: the error names both files.
	for _, ext := range []string{"wrd", "ltr"} {
		if err := os.Remove(filepath.Join(dir, "valid."+ext)); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr = runCLI(t, "eval", "--model", model, "--data", validTSV)
	if code != exitFail || !strings.Contains(stderr, "valid.wrd") || !strings.Contains(stderr, "valid.ltr") {
		t.Errorf("missing labels: exit %d\n%s", code, stderr)
	}

	code, _, stderr = runCLI(t, "eval", "--model", filepath.Join(dir, "nope.safetensors"), "--data", validTSV)
	if code != exitFail || !strings.Contains(stderr, "nope.safetensors") {
		t.Errorf("missing model: exit %d\n%s", code, stderr)
	}
}

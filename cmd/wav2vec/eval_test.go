package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
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

// TestShards: --shard K/N splits eval's manifest rows and transcribe's and
// extract's files into parts that cover each exactly once; the parts'
// eval counts sum to the whole's and their transcripts concatenate (in
// the shards' order) to the whole's lines.
func TestShards(t *testing.T) {
	dir, out, _, validTSV := toyRun(t, "scratch", 2)
	model := train.BestPath(out)
	evalJSON := func(args ...string) asr.EvalResult {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"eval", "--model", model, "--data", validTSV, "--json"}, args...)...)
		if code != exitOK {
			t.Fatalf("eval %v: exit %d\n%s", args, code, stderr)
		}
		var r asr.EvalResult
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	whole := evalJSON()
	var sum asr.EvalResult
	for k := range 2 {
		p := evalJSON("--shard", fmt.Sprintf("%d/2", k))
		sum.Utterances += p.Utterances
		sum.TooShort += p.TooShort
		sum.AudioSeconds += p.AudioSeconds
		sum.Words.Add(p.Words)
		sum.Chars.Add(p.Chars)
	}
	if sum.Utterances != whole.Utterances || sum.Words != whole.Words || sum.Chars != whole.Chars ||
		sum.TooShort != whole.TooShort || math.Abs(sum.AudioSeconds-whole.AudioSeconds) > 1e-9 {
		t.Errorf("the shards sum to %+v, the whole is %+v", sum, whole)
	}
	if code, _, stderr := runCLI(t, "eval", "--model", model, "--data", validTSV, "--shard", "2/2"); code != exitUsage || !strings.Contains(stderr, "0 <= K < N") {
		t.Errorf("--shard 2/2: exit %d\n%s", code, stderr)
	}

	wavs, err := filepath.Glob(filepath.Join(dir, "valid-*.wav"))
	if err != nil || len(wavs) != 3 {
		t.Fatalf("%v %v", wavs, err)
	}
	transcribe := func(args ...string) []string {
		t.Helper()
		code, stdout, stderr := runCLI(t, append(append([]string{"transcribe", "--model", model, "-q"}, args...), wavs...)...)
		if code != exitOK {
			t.Fatalf("transcribe %v: exit %d\n%s", args, code, stderr)
		}
		return strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	}
	all := transcribe()
	var parts []string
	for k := range 3 {
		part := transcribe("--shard", fmt.Sprintf("%d/3", k))
		if len(part) != 1 || !strings.HasPrefix(part[0], wavs[k]+"\t") {
			t.Errorf("shard %d/3: %q, want the named line of file %d", k, part, k)
		}
		parts = append(parts, part...)
	}
	if !slices.Equal(parts, all) {
		t.Errorf("the shards' lines %q, the whole's %q", parts, all)
	}
	if empty := runCLIOut(t, "transcribe", "--model", model, "-q", "--shard", "3/4", wavs[0], wavs[1], wavs[2]); empty != "" {
		t.Errorf("an empty shard wrote %q", empty)
	}

	feats := filepath.Join(dir, "feats")
	if code, _, stderr := runCLI(t, "extract", "--model", filepath.Join("..", "..", "published", "testdata", "w2v2-base"), "--out", feats, "-q", "--shard", "1/2", wavs[0], wavs[1], wavs[2]); code != exitOK {
		t.Fatalf("extract --shard: exit %d\n%s", code, stderr)
	}
	got, err := filepath.Glob(filepath.Join(feats, "*.npy"))
	if err != nil || len(got) != 1 || filepath.Base(got[0]) != "valid-01.npy" {
		t.Errorf("extract --shard 1/2 wrote %v, want valid-01.npy", got)
	}
}

// runCLIOut runs the command and returns its stdout, failing the test on
// a non-zero exit.
func runCLIOut(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
	return stdout
}

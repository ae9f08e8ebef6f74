package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/train"
)

func TestTranscribeUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no input files"},
		{[]string{"--format", "doc", "a.wav"}, "--format must be one of"},
		{[]string{"--beam", "-1", "a.wav"}, "--beam"},
		{[]string{"-", "-"}, "only once"},
		{[]string{"--workers", "0", "a.wav"}, "--workers"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, _, errOut := runCLI(t, append([]string{"transcribe"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestTranscribeNoDefaultModel(t *testing.T) {
	if _, err := asr.DefaultModel(); err == nil {
		t.Skip("this build embeds a default model")
	}
	code, out, errOut := runCLI(t, "transcribe", "a.wav")
	if code != exitFail || out != "" || !strings.Contains(errOut, "no default model is embedded in this build; pass --model") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestTranscribeDefault: without --model the embedded model decodes with its
// LM and lexicon; --lm none --lexicon none is the library's greedy decoding.
func TestTranscribeDefault(t *testing.T) {
	m, err := asr.DefaultModel()
	if err != nil {
		t.Skip("no default model embedded")
	}
	if opt, err := asr.DefaultOptions(); err != nil || opt.LM == nil {
		t.Skipf("no default LM embedded (%v)", err)
	}
	file := "../../testdata/speech/noisy_reverb.wav"
	x, err := audio.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	greedy, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := greedy.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "transcribe", "-q", "--lm", "none", "--lexicon", "none", file)
	if code != exitOK || stdout != want.Text+"\n" {
		t.Errorf("--lm none --lexicon none: exit %d, %q, want greedy's %q\n%s", code, stdout, want.Text, stderr)
	}
	// The greedy transcript misspells a word; the lexicon and LM mend it.
	const ref = "WE ARE NOT ANTICIPATING ANY EMERGENCIES"
	if want.Text == ref {
		t.Fatalf("greedy decoding is already right (%q): the test below shows nothing", want.Text)
	}
	code, stdout, stderr = runCLI(t, "transcribe", "-q", file)
	if code != exitOK || stdout != ref+"\n" {
		t.Errorf("default decoding: exit %d, %q, want %q\n%s", code, stdout, ref, stderr)
	}
	// The same model as a file decodes greedily, unless the embedded LM
	// and lexicon are asked for by name.
	model := "../../asr/model/default.safetensors"
	code, stdout, stderr = runCLI(t, "transcribe", "-q", "--model", model, file)
	if code != exitOK || stdout != want.Text+"\n" {
		t.Errorf("--model: exit %d, %q, want greedy's %q\n%s", code, stdout, want.Text, stderr)
	}
	code, stdout, stderr = runCLI(t, "transcribe", "-q", "--model", model, "--lm", "default", "--lexicon", "default", file)
	if code != exitOK || stdout != ref+"\n" {
		t.Errorf("--model with --lm default --lexicon default: exit %d, %q, want %q\n%s", code, stdout, ref, stderr)
	}
}

func TestTranscribe(t *testing.T) {
	dir, out, _, _ := toyRun(t, "scratch", 2)
	model := train.LastPath(out)
	good1, good2 := filepath.Join(dir, "valid-00.wav"), filepath.Join(dir, "valid-01.wav")
	short := filepath.Join(dir, "short.wav")
	if err := audio.WriteFile(short, make([]float32, 200), audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.wav")
	if err := os.WriteFile(broken, []byte("RIFF....not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.wav")

	// What the library says, to compare with.
	m, err := asr.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := audio.ReadFile(good2)
	if err != nil {
		t.Fatal(err)
	}
	want2, err := tr.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("txt with bad files", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "-q", good1, missing, short, good2, broken)
		if code != exitFail {
			t.Errorf("exit %d, want 1", code)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != 2 || lines[1] != want2.Text {
			t.Errorf("stdout %q: want 2 lines, the second %q", stdout, want2.Text)
		}
		errLines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(errLines) != 3 {
			t.Errorf("stderr has %d lines, want 3 (one per bad file):\n%s", len(errLines), stderr)
		}
		for _, f := range []string{missing, short, broken} {
			if !strings.Contains(stderr, f) {
				t.Errorf("stderr does not name %s:\n%s", f, stderr)
			}
		}
		if !strings.Contains(stderr, "too short") || strings.Contains(stderr, "panic") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})
	t.Run("lexicon", func(t *testing.T) {
		lower := filepath.Join(dir, "lower.txt")
		if err := os.WriteFile(lower, []byte("hello\nworld\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "--lexicon", lower, good2)
		if code != exitFail || stdout != "" || !strings.Contains(stderr, "none of the lexicon's 2 words can be spelled") {
			t.Errorf("a lower-case lexicon: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
		}
		code, _, stderr = runCLI(t, "transcribe", "--model", model, "--lexicon", missing, good2)
		if code != exitFail || !strings.Contains(stderr, missing) {
			t.Errorf("a missing lexicon: exit %d, stderr:\n%s", code, stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "--format", "json", "-q", good1, good2)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 {
			t.Fatalf("want 2 JSON lines:\n%s", stdout)
		}
		var r struct {
			File     string
			Text     string
			Duration float64
			Words    []struct {
				Word       string
				Start, End float64
			}
		}
		if err := json.Unmarshal([]byte(lines[1]), &r); err != nil {
			t.Fatal(err)
		}
		if r.File != good2 || r.Text != want2.Text || len(r.Words) != len(want2.Words) || r.Duration <= 0 {
			t.Errorf("got %+v, want the text %q", r, want2.Text)
		}
		for _, w := range r.Words {
			if w.Start < 0 || w.End < w.Start || w.End > r.Duration {
				t.Errorf("word %+v outside [0, %g]", w, r.Duration)
			}
		}
	})
	t.Run("stdin and subtitles", func(t *testing.T) {
		data, err := os.ReadFile(good2)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"srt", "vtt"} {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"transcribe", "--model", model, "--format", format, "-q", "-"},
				bytes.NewReader(data), &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", format, code, stderr.String())
			}
			var want bytes.Buffer
			if err := asr.WriteResult(&want, format, "<stdin>", want2); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != want.String() {
				t.Errorf("%s from stdin:\n%s\nwant\n%s", format, stdout.String(), want.String())
			}
		}
	})
}

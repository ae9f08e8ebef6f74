package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
)

// runCLI runs the command line in-process and returns the exit code,
// stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{nil, exitUsage, "usage: wav2vec"},
		{[]string{"help"}, exitOK, "transcribe"},
		{[]string{"nosuch"}, exitUsage, `unknown command "nosuch"`},
		{[]string{"manifest"}, exitUsage, "--root is required"},
		{[]string{"manifest", "--root", "x"}, exitUsage, "--out is required"},
		{[]string{"manifest", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"manifest", "--root", "x", "--out", "y", "--valid-percent", "5"}, exitUsage, "fraction"},
		{[]string{"manifest", "-h"}, exitOK, "-valid-percent"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(out+errOut, tt.want) {
				t.Errorf("output lacks %q:\n%s%s", tt.want, out, errOut)
			}
		})
	}
}

func writeTone(t *testing.T, path string, n, rate int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%50) / 100
	}
	if err := audio.WriteFile(path, x, rate); err != nil {
		t.Fatal(err)
	}
}

func TestManifest(t *testing.T) {
	root := t.TempDir()
	want := map[string]int64{"a.wav": 16000, "sub/b.wav": 8000, "sub/deeper/c.wav": 22050}
	rates := map[string]int{"a.wav": 16000, "sub/b.wav": 8000, "sub/deeper/c.wav": 44100}
	for name, n := range want {
		writeTone(t, filepath.Join(root, name), int(n), rates[name])
	}
	if err := os.WriteFile(filepath.Join(root, "notes.txt"), []byte("not audio"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "train.tsv")
	code, _, errOut := runCLI(t, "manifest", "--root", root, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m, err := dataset.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(m.Entries), len(want), m.Entries)
	}
	for _, e := range m.Entries {
		if want[e.Path] != e.Samples {
			t.Errorf("%s: %d samples, want %d", e.Path, e.Samples, want[e.Path])
		}
	}
	if err := m.Verify(); err != nil {
		t.Errorf("written manifest does not verify: %v", err)
	}
}

func TestManifestBadFile(t *testing.T) {
	root := t.TempDir()
	writeTone(t, filepath.Join(root, "good.wav"), 1600, 16000)
	if err := os.WriteFile(filepath.Join(root, "bad.wav"), []byte("RIFF\x04\x00\x00\x00WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.tsv")
	code, _, errOut := runCLI(t, "manifest", "--root", root, "--out", out)
	if code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(errOut, "bad.wav") || strings.Contains(errOut, "panic") {
		t.Errorf("stderr should name bad.wav without a panic:\n%s", errOut)
	}
	m, err := dataset.ReadManifest(out)
	if err != nil {
		t.Fatalf("the good files should still be written: %v", err)
	}
	if len(m.Entries) != 1 || m.Entries[0].Path != "good.wav" {
		t.Errorf("entries %+v, want only good.wav", m.Entries)
	}
}

func TestManifestMissingRoot(t *testing.T) {
	code, _, errOut := runCLI(t, "manifest", "--root", filepath.Join(t.TempDir(), "nope"), "--out", filepath.Join(t.TempDir(), "x.tsv"))
	if code != exitFail || !strings.Contains(errOut, "nope") {
		t.Errorf("exit %d, stderr %q: want exit 1 naming the folder", code, errOut)
	}
}

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		run := filepath.Join(dir, name)
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for s := 1; s <= 20; s++ {
			fmt.Fprintf(&b, `{"step":%d,"loss":%g}`+"\n", s, 5/float64(s))
			if s%5 == 0 {
				fmt.Fprintf(&b, `{"step":%d,"valid_cer":%g}`+"\n", s, 1/float64(s))
			}
		}
		if err := os.WriteFile(filepath.Join(run, "metrics.jsonl"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "curves.png")
	code, _, errOut := runCLI(t, "plot", "--out", out, "--y", "loss,valid_cer", filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
		t.Errorf("image %v too small", b)
	}
	code, _, errOut = runCLI(t, "plot", "--out", out, "--y", "nosuch", filepath.Join(dir, "a"))
	if code != exitFail || !strings.Contains(errOut, "nosuch") {
		t.Errorf("unknown key: exit %d, stderr %q", code, errOut)
	}
}

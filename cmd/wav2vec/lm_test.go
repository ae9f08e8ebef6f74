package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr/lm"
)

// TestLM builds a model from raw text and checks that it was normalised to
// the recogniser's words and reads back.
func TestLM(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.wrd")
	if err := os.WriteFile(text, []byte("Hello, world!\n\nhello there 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lm.arpa")
	code, _, stderr := runCLI(t, "lm", "--order", "2", "--out", out, text)
	if code != exitOK || !strings.Contains(stderr, "2 sentences, 6 words") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	m, err := lm.ReadARPAFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// HELLO WORLD THERE FORTY TWO, <s>, </s>, <unk>.
	if m.Order() != 2 || m.VocabSize() != 8 {
		t.Errorf("order %d, vocabulary %d; want 2 and 8", m.Order(), m.VocabSize())
	}
	_, hello := m.Score(m.Start(), "HELLO")
	_, world := m.Score(m.Start(), "WORLD")
	if !(hello > world) {
		t.Errorf("after <s>: ln P(HELLO) %.3f, ln P(WORLD) %.3f; HELLO began both sentences", hello, world)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"lm", text}, exitUsage, "--out is required"},
		{[]string{"lm", "--out", out}, exitUsage, "name at least one text file"},
		{[]string{"lm", "--out", out, "--order", "0", text}, exitUsage, "--order"},
		{[]string{"lm", "--out", out, filepath.Join(dir, "missing.wrd")}, exitFail, "missing.wrd"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

package lm

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"strings"
	"testing"
)

func TestLexicon(t *testing.T) {
	l, err := ReadLexicon(strings.NewReader("CAT\tC A T |\n\nCAB C A B |\n  CAT\nA\nCATS\nchat\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 5 {
		t.Errorf("Len %d, want 5 (CAT, CAB, A, CATS, chat)", l.Len())
	}
	for w, want := range map[string]bool{"CAT": true, "CATS": true, "A": true, "chat": true,
		"CA": false, "C": false, "CATSS": false, "cat": false, "": false, "|": false} {
		if got := l.Contains(w); got != want {
			t.Errorf("Contains(%q) = %v", w, got)
		}
	}
	if got := l.Spellable(strings.Split("- | ' A B C D E F G H I J K L M N O P Q R S T U V W X Y Z", " ")); got != 4 {
		t.Errorf("Spellable(A-Z) = %d, want 4 (not chat)", got)
	}
	if got := l.Spellable([]string{"", "|", "CA", "T", "S"}); got != 2 {
		t.Errorf("Spellable(CA, T, S) = %d, want 2 (CAT, CATS)", got)
	}
	if _, err := ReadLexicon(strings.NewReader("\n \n")); err == nil {
		t.Error("a lexicon without words: no error")
	}
	if _, err := ReadLexiconFile("testdata/no-such-lexicon.txt"); err == nil {
		t.Error("a missing file: no error")
	}
}

// TestReadGzipped: lexicons and ARPA files may come gzipped.
func TestReadGzipped(t *testing.T) {
	gz := func(text string) *bytes.Reader {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(text))
		w.Close()
		return bytes.NewReader(b.Bytes())
	}
	l, err := ReadLexicon(gz("CAT\nDOG\n"))
	if err != nil || l.Len() != 2 || !l.Contains("DOG") {
		t.Errorf("gzipped lexicon: %v, %v", l, err)
	}
	m, err := ReadARPA(gz("\\data\\\nngram 1=3\n\\1-grams:\n-99 <s>\n-1 </s>\n-0.5 CAT\n\\end\\\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, lp := m.Score(m.Start(), "CAT"); math.Abs(lp-(-0.5*math.Ln10)) > 1e-6 {
		t.Errorf("gzipped ARPA: log P(CAT) %v", lp)
	}
	b, _ := io.ReadAll(gz("CAT\n"))
	if _, err := ReadLexicon(bytes.NewReader(b[:len(b)-6])); err == nil {
		t.Error("a gzipped lexicon cut short: no error")
	}
}

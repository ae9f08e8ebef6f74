package lm

import (
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

func readTiny(t testing.TB) *NGramLM {
	t.Helper()
	m, err := ReadARPAFile("testdata/tiny.arpa")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNGramBackoff scores sentences word by word against log10 values
// worked out by hand from testdata/tiny.arpa.
func TestNGramBackoff(t *testing.T) {
	m := readTiny(t)
	if m.Order() != 3 || m.VocabSize() != 6 {
		t.Fatalf("order %d, vocabulary %d; want 3 and 6", m.Order(), m.VocabSize())
	}
	tests := []struct {
		name  string
		words []string
		want  []float64 // log10 per word, then </s>
	}{
		{"trigrams", []string{"A", "B", "C"}, []float64{
			-0.3,          // <s> A
			-0.1,          // <s> A B
			-0.15,         // A B C
			-0.4 + -0.7}}, // (B C </s>) and (C </s>) missing: bow(B C)=0, bow(C), P(</s>)
		{"back-off twice", []string{"A", "C"}, []float64{
			-0.3,
			-0.1 + -0.3 + -1.2, // bow(<s> A) + bow(A) + P(C)
			-0.4 + -0.7}},      // bow(C) + P(</s>)
		{"bigram end", []string{"A", "B"}, []float64{
			-0.3, -0.1,
			-0.25 + -0.2}}, // bow(A B) + P(</s> | B)
		{"after a highest-order n-gram", []string{"A", "B", "C", "A"}, []float64{
			-0.3, -0.1, -0.15,
			0 + -0.4 + -0.8, // state (B C): bow 0, bow(C), P(A)
			-0.3 + -0.7}},   // bow(A) + P(</s>)
		{"unknown word", []string{"ZZZ", "B"}, []float64{
			-0.5 + -1.0, // bow(<s>) + P(<unk>)
			0 + -0.6,    // (<unk> B) missing, bow(<unk>)=0, P(B)
			-0.2}},
		{"<s> B", []string{"B"}, []float64{-0.6, -0.2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := m.Start()
			for i, w := range tc.words {
				var got float64
				s, got = m.Score(s, w)
				if want := tc.want[i] * math.Ln10; math.Abs(got-want) > 1e-6 {
					t.Errorf("word %d %q: log prob %.6f, want %.6f", i, w, got, want)
				}
			}
			if got, want := m.Final(s), tc.want[len(tc.words)]*math.Ln10; math.Abs(got-want) > 1e-6 {
				t.Errorf("</s>: log prob %.6f, want %.6f", got, want)
			}
		})
	}
}

func TestNGramMissingUnk(t *testing.T) {
	const arpa = "\\data\\\nngram 1=3\n\n\\1-grams:\n-99 <s> 0\n-0.5 </s>\n-0.4 HI\n\n\\end\\\n"
	m, err := ReadARPA(strings.NewReader(arpa))
	if err != nil {
		t.Fatal(err)
	}
	_, got := m.Score(m.Start(), "NOPE")
	if want := -100 * math.Ln10; math.Abs(got-want) > 1e-9 {
		t.Errorf("unknown word: %v, want %v (log10 -100, as KenLM)", got, want)
	}
	if _, got := m.Score(m.Start(), "HI"); math.Abs(got-(-0.4*math.Ln10)) > 1e-6 {
		t.Errorf("HI: %v", got)
	}
}

// TestReadARPAInvalid: every malformed file gives an *ARPAError that names
// the line (when there is one) and says what is wrong, and no model.
func TestReadARPAInvalid(t *testing.T) {
	const head = "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-99 <s> -0.1\n-0.5 </s>\n-0.4 HI -0.2\n\n"
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"empty", "", 0, `no \data\ section`},
		{"no counts", "\\data\\\n\\1-grams:\n", 2, "no \"ngram N=count\""},
		{"bad count", "\\data\\\nngram 1=x\n", 2, "bad count line"},
		{"order out of sequence", "\\data\\\nngram 2=3\n", 2, "out of sequence"},
		{"no unigrams", "\\data\\\nngram 1=0\n", 2, "no unigrams"},
		{"wrong section", "\\data\\\nngram 1=1\n\\2-grams:\n", 3, `where "\\1-grams:" should begin`},
		{"truncated", head, 0, `missing \end\`},
		{"bad probability", "\\data\\\nngram 1=1\n\\1-grams:\nabc <s>\n\\end\\\n", 4, "bad probability"},
		{"positive probability", "\\data\\\nngram 1=1\n\\1-grams:\n0.5 <s>\n\\end\\\n", 4, "above 0"},
		{"bad back-off", "\\data\\\nngram 1=1\nngram 2=0\n\\1-grams:\n-1 <s> zz\n", 5, "bad back-off weight"},
		{"count mismatch", head + "\\2-grams:\n-0.1 <s> HI\n-0.2 HI </s>\n\\end\\\n", 13, "declares 1 2-grams, the section has 2"},
		{"too few fields", head + "\\2-grams:\n-0.1 <s>\n\\end\\\n", 11, "got 2 fields"},
		{"unknown word", head + "\\2-grams:\n-0.1 <s> BYE\n\\end\\\n", 11, `word "BYE"`},
		{"duplicate", head + "\\2-grams:\n-0.1 <s> HI\n-0.1 <s> HI\n\\end\\\n", 12, "listed twice"},
		{"no end", head + "\\2-grams:\n-0.1 <s> HI\n\\3-grams:\n", 12, `where \end\ should be`},
		{"no <s>", "\\data\\\nngram 1=1\n\\1-grams:\n-1 </s>\n\\end\\\n", 0, "no <s> unigram"},
		{"no </s>", "\\data\\\nngram 1=1\n\\1-grams:\n-1 <s>\n\\end\\\n", 0, "no </s> unigram"},
		{"missing context", "\\data\\\nngram 1=3\nngram 2=1\nngram 3=1\n\\1-grams:\n-1 <s>\n-1 </s>\n-1 A\n\\2-grams:\n-1 <s> A\n\\3-grams:\n-1 A A A\n\\end\\\n", 12, `no 2-gram "A A"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := readARPA(strings.NewReader(tc.in), "x.arpa")
			if err == nil || m != nil {
				t.Fatalf("got model %v, error %v; want only an error", m, err)
			}
			var ae *ARPAError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *ARPAError", err, err)
			}
			if ae.Line != tc.line || ae.File != "x.arpa" {
				t.Errorf("error at %s:%d, want x.arpa:%d (%v)", ae.File, ae.Line, tc.line, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "lm: x.arpa") || !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q, want the prefix %q and %q", msg, "lm: x.arpa", tc.msg)
			}
		})
	}
	if _, err := readARPA(strings.NewReader(head), ""); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated file: %v, want io.ErrUnexpectedEOF wrapped", err)
	}
	if _, err := ReadARPAFile("testdata/no-such.arpa"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no-such.arpa") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzReadARPA(f *testing.F) {
	tiny, err := os.ReadFile("testdata/tiny.arpa")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(tiny))
	f.Add("\\data\\\nngram 1=1\n\\1-grams:\n-1 <s>\n\\end\\\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ReadARPA(strings.NewReader(in))
		if (m == nil) == (err == nil) {
			t.Fatalf("model %v and error %v: want exactly one", m, err)
		}
		if m == nil {
			return
		}
		// Every query of a model that loaded must terminate with a
		// probability.
		s := m.Start()
		for _, w := range []string{"A", "<unk>", "</s>", "<s>", "B"} {
			var lp float64
			s, lp = m.Score(s, w)
			if lp > 1e-9 || math.IsNaN(lp) {
				t.Fatalf("log prob %v", lp)
			}
		}
		m.Final(s)
	})
}

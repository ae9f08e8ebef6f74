package asr

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"math/rand/v2"
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
	if got := l.Spellable(symbols29); got != 4 {
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

// TestBeamLexiconExact: with an unbounded beam the lexicon search returns
// the likeliest label sequence (CTC plus LM terms) among those whose words
// are all in the lexicon, found by enumerating every path.
func TestBeamLexiconExact(t *testing.T) {
	m := readTiny(t)
	symbols := []string{"", "|", "A", "B", "C"}
	lex := NewLexicon([]string{"A", "AB", "BA", "C", "CAB"})
	rng := rand.New(rand.NewPCG(21, 22))
	differs := 0
	for i := range 40 {
		T := 1 + rng.IntN(7)
		lp := randomLogProbs(rng, T, 5, 1)
		for _, lm := range []LM{nil, m} {
			opt := BeamOptions{Beam: 1 << 14, Threshold: math.Inf(1), Lexicon: lex, LM: lm, LMWeight: 0.8, WordScore: 0.2}
			s := newBeamSearcher(lp, T, 5, symbols, 0, 1, opt)
			var want []int
			best := math.Inf(-1)
			for _, e := range bruteForce(lp, T, 5, 0) {
				if !s.inLexicon(e.labels) {
					continue
				}
				if sc := math.Log(e.sum) + s.lmTerms(e.labels); sc > best {
					want, best = e.labels, sc
				}
			}
			got, ok := s.search()
			if !ok {
				t.Fatalf("case %d: no hypothesis ends on a word", i)
			}
			if gs := SequenceLogProb(lp, T, 5, 0, got) + s.lmTerms(got); !s.inLexicon(got) || math.Abs(gs-best) > 1e-9 {
				t.Fatalf("case %d (T=%d, LM %v): search %q (score %v), best in lexicon %q (%v)",
					i, T, lm != nil, Transcript(got, symbols, 1), gs, Transcript(want, symbols, 1), best)
			}
			if free := rawSearch(lp, T, 5, symbols, BeamOptions{Beam: 1 << 14, Threshold: math.Inf(1), LM: lm, LMWeight: 0.8, WordScore: 0.2}); !s.inLexicon(free) {
				differs++
			}
		}
	}
	if differs < 10 {
		t.Errorf("the lexicon-free search left the lexicon in only %d of 80 cases: the test is weak", differs)
	}
}

// TestBeamLexiconSpells: a lexicon turns the acoustically likelier
// misspelling into the word, and BeamSearch falls back to the free search
// when no surviving hypothesis ends on a whole word.
func TestBeamLexiconSpells(t *testing.T) {
	lp := tieFrames("Y,O,U N,E,K") // "YOU NEK", with "UNIQUE" nowhere near
	T := len(lp) / 29
	decode := func(opt BeamOptions) string {
		tokens, _ := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, opt)
		return Transcript(TokenIDs(tokens), symbols29, boundary29)
	}
	if got := decode(BeamOptions{Beam: 8}); got != "YOU NEK" {
		t.Fatalf("without a lexicon %q, want YOU NEK", got)
	}
	if got := decode(BeamOptions{Beam: 8, Lexicon: NewLexicon([]string{"YOU", "NECK", "NEEK"})}); got != "YOU NECK" && got != "YOU NEEK" {
		t.Errorf("with a lexicon %q, want YOU NECK or YOU NEEK", got)
	}
	if got := decode(BeamOptions{Beam: 8, Lexicon: NewLexicon([]string{"YOUNEK"})}); got != "YOUNEK" {
		t.Errorf("lexicon YOUNEK: %q", got)
	}
	if got := decode(BeamOptions{Beam: 1, Lexicon: NewLexicon([]string{"YOUNEKS"})}); got != "YOU NEK" {
		t.Errorf("beam 1 ending inside YOUNEKS: %q, want the free search's YOU NEK", got)
	}
	if got := decode(BeamOptions{Beam: 8, Lexicon: NewLexicon([]string{"xyz"})}); got != "" {
		t.Errorf("a lexicon nothing can spell: %q, want nothing", got)
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

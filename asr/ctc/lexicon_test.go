package ctc

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr/lm"
)

// TestBeamLexiconExact: with an unbounded beam the lexicon search returns
// the likeliest label sequence (CTC plus LM terms) among those whose words
// are all in the lexicon, found by enumerating every path.
func TestBeamLexiconExact(t *testing.T) {
	m := readTiny(t)
	symbols := []string{"", "|", "A", "B", "C"}
	lex := lm.NewLexicon([]string{"A", "AB", "BA", "C", "CAB"})
	rng := rand.New(rand.NewPCG(21, 22))
	differs := 0
	for i := range 40 {
		T := 1 + rng.IntN(7)
		lp := randomLogProbs(rng, T, 5, 1)
		for _, model := range []lm.LM{nil, m} {
			opt := BeamOptions{Beam: 1 << 14, Threshold: math.Inf(1), TokenThreshold: math.Inf(1), Lexicon: lex, LM: model, LMWeight: 0.8, WordScore: 0.2}
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
					i, T, model != nil, Transcript(got, symbols, 1), gs, Transcript(want, symbols, 1), best)
			}
			if free := rawSearch(lp, T, 5, symbols, BeamOptions{Beam: 1 << 14, Threshold: math.Inf(1), TokenThreshold: math.Inf(1), LM: model, LMWeight: 0.8, WordScore: 0.2}); !s.inLexicon(free) {
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
	if got := decode(BeamOptions{Beam: 8, Lexicon: lm.NewLexicon([]string{"YOU", "NECK", "NEEK"})}); got != "YOU NECK" && got != "YOU NEEK" {
		t.Errorf("with a lexicon %q, want YOU NECK or YOU NEEK", got)
	}
	if got := decode(BeamOptions{Beam: 8, Lexicon: lm.NewLexicon([]string{"YOUNEK"})}); got != "YOUNEK" {
		t.Errorf("lexicon YOUNEK: %q", got)
	}
	if got := decode(BeamOptions{Beam: 1, Lexicon: lm.NewLexicon([]string{"YOUNEKS"})}); got != "YOU NEK" {
		t.Errorf("beam 1 ending inside YOUNEKS: %q, want the free search's YOU NEK", got)
	}
	if got := decode(BeamOptions{Beam: 8, Lexicon: lm.NewLexicon([]string{"xyz"})}); got != "" {
		t.Errorf("a lexicon nothing can spell: %q, want nothing", got)
	}
}

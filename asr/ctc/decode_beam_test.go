package ctc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr/lm"
)

// rawSearch runs the beam search alone, without the comparison with the
// greedy transcript that BeamSearch adds.
func rawSearch(lp []float32, T, V int, symbols []string, opt BeamOptions) []int {
	labels, _ := newBeamSearcher(lp, T, V, symbols, 0, 1, opt).search()
	return labels
}

func TestBeamOneIsGreedy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sharp := range []float64{0.3, 1, 3, 8} {
		for i := range 40 {
			T := 1 + rng.IntN(80)
			lp := randomLogProbs(rng, T, 29, sharp)
			greedy := GreedyAlign(lp, T, 29, blank29)
			for _, tb := range []int{0, 3} {
				opt := BeamOptions{Beam: 1, TokenBeam: tb}
				if got := rawSearch(lp, T, 29, symbols29, opt); !slices.Equal(got, TokenIDs(greedy)) {
					t.Fatalf("sharp %v case %d token beam %d: search %v, greedy %v", sharp, i, tb, got, TokenIDs(greedy))
				}
				if got, _ := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, opt); !reflect.DeepEqual(got, greedy) {
					t.Fatalf("sharp %v case %d token beam %d: BeamSearch %v, GreedyAlign %v", sharp, i, tb, got, greedy)
				}
			}
		}
	}
}

// TestBeamNotWorseThanGreedy: without an LM the chosen labels are at least as
// likely as the greedy ones, and the search finds likelier ones by itself.
func TestBeamNotWorseThanGreedy(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	better, searchWorse, cases := 0, 0, 0
	for _, sharp := range []float64{0.5, 1.5, 4} {
		for range 25 {
			T := 5 + rng.IntN(60)
			lp := randomLogProbs(rng, T, 29, sharp)
			pg := SequenceLogProb(lp, T, 29, blank29, GreedyDecode(lp, T, 29, blank29))
			for _, opt := range []BeamOptions{{Beam: 2}, {Beam: 4, TokenBeam: 4}, {}} {
				cases++
				tokens, score := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, opt)
				pb := SequenceLogProb(lp, T, 29, blank29, TokenIDs(tokens))
				if pb < pg-1e-9 {
					t.Fatalf("sharp %v, %+v: beam labels log prob %v < greedy %v", sharp, opt, pb, pg)
				}
				if math.Abs(score-pb) > 1e-9 {
					t.Fatalf("score %v, want the labels' log prob %v", score, pb)
				}
				if pb > pg+1e-6 {
					better++
				}
				if ps := SequenceLogProb(lp, T, 29, blank29, rawSearch(lp, T, 29, symbols29, opt)); ps < pg-1e-9 {
					searchWorse++
				}
			}
		}
	}
	t.Logf("%d cases: beam likelier than greedy in %d; the search alone less likely than greedy in %d", cases, better, searchWorse)
	if better == 0 {
		t.Errorf("the beam never found labels likelier than greedy decoding's in %d cases", cases)
	}
}

// TestBeamExact: with a beam wide enough to keep every hypothesis, the
// search finds the most likely label sequence of an exhaustive enumeration.
func TestBeamExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	symbols := []string{"", "|", "A", "B"}
	for i := range 30 {
		T, V := 1+rng.IntN(6), 3+rng.IntN(2)
		lp := randomLogProbs(rng, T, V, 1)
		var want *bruteEntry
		for _, e := range bruteForce(lp, T, V, 0) {
			if want == nil || e.sum > want.sum {
				want = e
			}
		}
		opt := BeamOptions{Beam: 1 << 12, Threshold: math.Inf(1), TokenThreshold: math.Inf(1)}
		got := rawSearch(lp, T, V, symbols, opt)
		if !slices.Equal(got, want.labels) {
			t.Fatalf("case %d (T=%d V=%d): search %v, most likely %v (p=%v, search's p=%v)",
				i, T, V, got, want.labels, want.sum, math.Exp(SequenceLogProb(lp, T, V, 0, got)))
		}
	}
}

// TestBeamSumOfPaths: the classic case where the likeliest label sequence
// is not the one of the likeliest path.
func TestBeamSumOfPaths(t *testing.T) {
	row := []float32{float32(math.Log(0.45)), float32(math.Log(0.25)), float32(math.Log(0.3))}
	lp := slices.Concat(row, row)
	symbols := []string{"", "|", "A"}
	if g := GreedyDecode(lp, 2, 3, 0); len(g) != 0 {
		t.Fatalf("greedy %v, want nothing", g)
	}
	tokens, score := BeamSearch(lp, 2, 3, symbols, 0, 1, BeamOptions{Beam: 4})
	if ids := TokenIDs(tokens); !slices.Equal(ids, []int{2}) {
		t.Fatalf("beam %v, want [2] (A)", ids)
	}
	if want := math.Log(0.3*0.3 + 2*0.3*0.45); math.Abs(score-want) > 1e-6 {
		t.Errorf("score %v, want %v", score, want)
	}
}

// tieFrames spells text, one frame per symbol with a blank frame after each
// word; a symbol written "X/Y" gives X and Y the same probability.
func tieFrames(text string) []float32 {
	var out []float32
	frame := func(syms ...int) {
		row := make([]float32, 29)
		p := 0.9 / float64(len(syms))
		for k := range row {
			row[k] = float32(math.Log(0.1 / float64(29-len(syms))))
		}
		for _, k := range syms {
			row[k] = float32(math.Log(p))
		}
		out = append(out, row...)
	}
	for i, w := range strings.Fields(text) {
		if i > 0 {
			frame(boundary29)
		}
		for _, s := range strings.Split(w, ",") {
			var ks []int
			for _, c := range strings.Split(s, "/") {
				ks = append(ks, sym(c))
			}
			frame(ks...)
		}
		frame(blank29)
	}
	return out
}

func mustARPA(t testing.TB, s string) *lm.NGramLM {
	t.Helper()
	m, err := lm.ReadARPA(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBeamLMBreaksTies(t *testing.T) {
	unigrams := func(cat, cab float64) string {
		return fmt.Sprintf("\\data\\\nngram 1=5\n\\1-grams:\n-99 <s>\n-1 </s>\n-5 <unk>\n%v CAT\n%v CAB\n\\end\\\n", cat, cab)
	}
	bigrams := func(favoured string) string {
		return "\\data\\\nngram 1=6\nngram 2=3\n\\1-grams:\n-99 <s> 0\n-1 </s>\n-5 <unk>\n-1 HE -0.5\n-1 HA -0.5\n-1 SAT -0.5\n" +
			"\\2-grams:\n-0.3 <s> HE\n-0.3 <s> HA\n-0.1 " + favoured + " SAT\n\\end\\\n"
	}
	tests := []struct {
		name, frames string
		lm           lm.LM
		want         string
	}{
		{"no LM takes the first of a tie", "C,A,T/B", nil, "CAB"},
		{"unigrams prefer CAT", "C,A,T/B", mustARPA(t, unigrams(-0.1, -3)), "CAT"},
		{"unigrams prefer CAB", "C,A,T/B", mustARPA(t, unigrams(-3, -0.1)), "CAB"},
		{"a bigram prefers HE SAT", "H,E/A S,A,T", mustARPA(t, bigrams("HE")), "HE SAT"},
		{"a bigram prefers HA SAT", "H,E/A S,A,T", mustARPA(t, bigrams("HA")), "HA SAT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lp := tieFrames(tc.frames)
			T := len(lp) / 29
			opt := BeamOptions{Beam: 8, LM: tc.lm, LMWeight: 1}
			tokens, _ := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, opt)
			if got := Transcript(TokenIDs(tokens), symbols29, boundary29); got != tc.want {
				t.Errorf("transcript %q, want %q", got, tc.want)
			}
		})
	}
}

// TestBeamLMIncremental: the LM score the search carries for a prefix, plus
// its last word and the sentence end, equals the LM score of the whole
// label sequence.
func TestBeamLMIncremental(t *testing.T) {
	m := readTiny(t)
	symbols := []string{"", "|", "A", "B", "C"}
	rng := rand.New(rand.NewPCG(13, 14))
	for range 20 {
		T := 10 + rng.IntN(40)
		lp := randomLogProbs(rng, T, 5, 2)
		s := newBeamSearcher(lp, T, 5, symbols, 0, 1, BeamOptions{LM: m, LMWeight: 0.7, WordScore: 0.3})
		s.search()
		for _, h := range s.hyps {
			n := h.node
			st, inc := n.lmState, n.lmScore
			if n.wordLen > 0 {
				st, inc = s.scoreWord(st, inc, s.lastWord(n))
			}
			inc += 0.7 * m.Final(st)
			if want := s.lmTerms(n.labels()); math.Abs(inc-want) > 1e-9 {
				t.Fatalf("prefix %q: incremental LM score %v, whole-sequence %v",
					Transcript(n.labels(), symbols, 1), inc, want)
			}
		}
	}
}

// TestBeamWordScore: a word score large enough makes the search prefer
// splitting at a boundary the acoustics find unlikely.
func TestBeamWordScore(t *testing.T) {
	lp := tieFrames("A,B")
	T := len(lp) / 29
	bar := make([]float32, 29)
	for k := range bar {
		bar[k] = float32(math.Log(0.5 / 28))
	}
	bar[boundary29] = float32(math.Log(0.2))
	bar[blank29] = float32(math.Log(0.3))
	lp = slices.Concat(lp[:29], bar, lp[29:]) // A, (blank or |), B, blank
	T++
	for _, tc := range []struct {
		score float64
		want  string
	}{{0, "AB"}, {5, "A B"}} {
		tokens, _ := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, BeamOptions{WordScore: tc.score})
		if got := Transcript(TokenIDs(tokens), symbols29, boundary29); got != tc.want {
			t.Errorf("word score %v: %q, want %q", tc.score, got, tc.want)
		}
	}
}

// TestBeamDegenerate: empty, all -Inf or NaN inputs give an answer, no panic.
func TestBeamDegenerate(t *testing.T) {
	inf, nan := float32(math.Inf(-1)), float32(math.NaN())
	for _, tc := range []struct {
		name string
		lp   []float32
	}{
		{"no frames", nil},
		{"all -Inf", []float32{inf, inf, inf, inf, inf, inf}},
		{"all NaN", []float32{nan, nan, nan, nan, nan, nan}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			T := len(tc.lp) / 3
			tokens, score := BeamSearch(tc.lp, T, 3, []string{"", "|", "A"}, 0, 1, BeamOptions{LM: readTiny(t), LMWeight: 1})
			if len(tokens) != 0 || (T > 0 && !math.IsInf(score, -1)) {
				t.Errorf("tokens %v, score %v", tokens, score)
			}
		})
	}
}

func BenchmarkBeamSearch(b *testing.B) {
	const T, V = 500, 29
	lp := ctcLikeLogProbs(rand.New(rand.NewPCG(1, 1)), T)
	model := benchLM(b)
	for _, bc := range []struct {
		name string
		opt  BeamOptions
	}{
		{"greedy", BeamOptions{}},
		{"noLM", BeamOptions{Beam: 16}},
		{"LM", BeamOptions{Beam: 16, LM: model, LMWeight: 0.5, WordScore: 1}},
		{"LM-all-symbols", BeamOptions{Beam: 16, LM: model, LMWeight: 0.5, WordScore: 1, TokenThreshold: math.Inf(1)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if bc.name == "greedy" {
					GreedyAlign(lp, T, V, blank29)
				} else {
					BeamSearch(lp, T, V, symbols29, blank29, boundary29, bc.opt)
				}
			}
			fps := float64(T*b.N) / b.Elapsed().Seconds()
			b.ReportMetric(fps, "frames/s")
			b.ReportMetric(fps*0.01, "x-realtime")
		})
	}
}

// benchLM builds a bigram model of 2,000 random words of two to four letters
// (many of the words random frames spell are in it) and 20,000 bigrams.
func benchLM(b *testing.B) *lm.NGramLM {
	rng := rand.New(rand.NewPCG(2, 2))
	seen := map[string]bool{"<s>": true, "</s>": true, "<unk>": true}
	words := []string{"<s>", "</s>", "<unk>"}
	for len(words) < 2003 {
		w := make([]byte, 2+rng.IntN(3))
		for i := range w {
			w[i] = byte('A' + rng.IntN(26))
		}
		if !seen[string(w)] {
			seen[string(w)] = true
			words = append(words, string(w))
		}
	}
	bigrams := map[[2]int]bool{}
	for len(bigrams) < 20000 {
		bigrams[[2]int{rng.IntN(len(words)), 1 + rng.IntN(len(words)-1)}] = true
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\\data\\\nngram 1=%d\nngram 2=%d\n\n\\1-grams:\n", len(words), len(bigrams))
	for _, w := range words {
		fmt.Fprintf(&sb, "%.4f\t%s\t%.4f\n", -1-3*rng.Float64(), w, -rng.Float64())
	}
	sb.WriteString("\n\\2-grams:\n")
	for bg := range bigrams {
		fmt.Fprintf(&sb, "%.4f\t%s %s\n", -3*rng.Float64(), words[bg[0]], words[bg[1]])
	}
	sb.WriteString("\n\\end\\\n")
	return mustARPA(b, sb.String())
}

// ctcLikeLogProbs imitates a trained model's output over symbols29: most
// frames are blank, the others spell words of two to seven letters separated
// by "|", and the symbol of each frame stands out of Gaussian noise by a
// margin that varies, so that some frames are uncertain.
func ctcLikeLogProbs(rng *rand.Rand, T int) []float32 {
	const V = 29
	out := make([]float32, T*V)
	left := 0 // letters left in the current word
	for t := range T {
		target := blank29
		if rng.Float64() < 0.3 {
			switch {
			case left > 0:
				target, left = 3+rng.IntN(26), left-1
			default:
				target, left = boundary29, 2+rng.IntN(6)
			}
		}
		row := out[t*V : (t+1)*V]
		logits := make([]float64, V)
		mx := math.Inf(-1)
		for k := range logits {
			logits[k] = rng.NormFloat64()
			if k == target {
				logits[k] += 1 + 7*rng.Float64()
			}
			mx = max(mx, logits[k])
		}
		var sum float64
		for _, v := range logits {
			sum += math.Exp(v - mx)
		}
		for k, v := range logits {
			row[k] = float32(v - mx - math.Log(sum))
		}
	}
	return out
}

// readTiny reads the lm package's tiny test model.
func readTiny(t testing.TB) *lm.NGramLM {
	t.Helper()
	m, err := lm.ReadARPAFile("../lm/testdata/tiny.arpa")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSelectBest checks the quickselect of prune against a full sort: the
// k best candidates by rankOrder, ties in score included.
func TestSelectBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := range 300 {
		n := 1 + rng.IntN(200)
		r := make([]ranked, n)
		for i := range r {
			r[i] = ranked{float64(rng.IntN(1 + n/4)), i} // many ties
			if trial%3 == 0 {
				r[i].total = rng.NormFloat64()
			}
		}
		rng.Shuffle(n, func(i, j int) { r[i], r[j] = r[j], r[i] })
		want := slices.Clone(r)
		slices.SortFunc(want, rankOrder)
		k := 1 + rng.IntN(n)
		selectBest(r, k)
		got := slices.Clone(r[:k])
		slices.SortFunc(got, rankOrder)
		if !slices.Equal(got, want[:k]) {
			t.Fatalf("trial %d: n %d, k %d: selected %v, want %v", trial, n, k, got, want[:k])
		}
	}
}

// TestTokenThreshold: on CTC-like frames the default token threshold
// changes no result of the full search (with and without an LM and a
// lexicon), while a symbol further below its frame's best than the
// threshold is never tried.
func TestTokenThreshold(t *testing.T) {
	model := readTiny(t)
	lex := lm.NewLexicon([]string{"A", "AB", "BA", "ABC", "CAB", "B"})
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range 30 {
		T := 20 + rng.IntN(80)
		lp := ctcLikeLogProbs(rng, T)
		for _, base := range []BeamOptions{
			{Beam: 64},
			{Beam: 64, LM: model, LMWeight: 0.8, WordScore: 0.5},
			{Beam: 64, LM: model, LMWeight: 0.8, Lexicon: lex.LookAhead(model)},
		} {
			full := base
			full.TokenThreshold = math.Inf(1)
			want, wantScore := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, full)
			got, gotScore := BeamSearch(lp, T, 29, symbols29, blank29, boundary29, base)
			if !slices.Equal(TokenIDs(got), TokenIDs(want)) || gotScore != wantScore {
				t.Fatalf("case %d (%+v): pruned %v (%v), full %v (%v)", i, base, TokenIDs(got), gotScore, TokenIDs(want), wantScore)
			}
		}
	}
	// "AB" is the lexicon's one word, and B is e^-12 below the blank in its
	// frame: the pruned search never reaches it and keeps the empty
	// transcript (the one whose words are all in the lexicon).
	a, b := sym("A"), sym("B")
	lp := framesFor(29, 0.999, a, blank29, b, blank29)
	row := lp[2*29 : 3*29]
	for k := range row {
		row[k] = -30
	}
	row[blank29], row[b] = 0, -12
	opt := BeamOptions{Beam: 16, Lexicon: lm.NewLexicon([]string{"AB"})}
	pruned, _ := BeamSearch(lp, 4, 29, symbols29, blank29, boundary29, opt)
	opt.TokenThreshold = math.Inf(1)
	full, _ := BeamSearch(lp, 4, 29, symbols29, blank29, boundary29, opt)
	if got, want := Transcript(TokenIDs(pruned), symbols29, boundary29), ""; got != want {
		t.Errorf("pruned search: %q, want %q", got, want)
	}
	if got, want := Transcript(TokenIDs(full), symbols29, boundary29), "AB"; got != want {
		t.Errorf("full search: %q, want %q", got, want)
	}
}

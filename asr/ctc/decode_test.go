package ctc

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// symbols29 is the fine-tuning vocabulary of DESIGN.md: blank, "|", "'", A-Z.
var symbols29 = func() []string {
	s := []string{"", "|", "'"}
	for c := 'A'; c <= 'Z'; c++ {
		s = append(s, string(c))
	}
	return s
}()

const (
	blank29    = 0
	boundary29 = 1
)

// sym returns the index of a symbol of symbols29.
func sym(s string) int { return slices.Index(symbols29, s) }

// randomLogProbs returns a T x V matrix of log-softmax rows of Gaussian
// logits times sharp: large values make peaky rows, as trained CTC models
// give, small ones flat rows.
func randomLogProbs(rng *rand.Rand, T, V int, sharp float64) []float32 {
	out := make([]float32, T*V)
	row := make([]float64, V)
	for t := range T {
		mx := math.Inf(-1)
		for k := range row {
			row[k] = sharp * rng.NormFloat64()
			mx = max(mx, row[k])
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(v - mx)
		}
		for k, v := range row {
			out[t*V+k] = float32(v - mx - math.Log(sum))
		}
	}
	return out
}

// framesFor builds log probabilities in which frame t gives probability p
// to its symbol and shares the rest evenly among the others.
func framesFor(V int, p float64, frames ...int) []float32 {
	out := make([]float32, len(frames)*V)
	for t, k := range frames {
		for j := range V {
			q := (1 - p) / float64(V-1)
			if j == k {
				q = p
			}
			out[t*V+j] = float32(math.Log(q))
		}
	}
	return out
}

func TestGreedyAlign(t *testing.T) {
	_, A, B, C, bar := blank29, sym("A"), sym("B"), sym("C"), boundary29
	lp := framesFor(29, 0.9, 0, A, A, 0, B, B, bar, bar, C, 0, A, 0, A)
	got := GreedyAlign(lp, 13, 29, blank29)
	want := []Token{{A, 1, 3}, {B, 4, 6}, {bar, 6, 8}, {C, 8, 9}, {A, 10, 11}, {A, 12, 13}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GreedyAlign = %v, want %v", got, want)
	}
	if ids := GreedyDecode(lp, 13, 29, blank29); !slices.Equal(ids, []int{A, B, bar, C, A, A}) {
		t.Errorf("GreedyDecode = %v", ids)
	}
	if s := Transcript(TokenIDs(got), symbols29, bar); s != "AB CAA" {
		t.Errorf("Transcript = %q, want %q", s, "AB CAA")
	}
}

// TestGreedyNaN: a NaN never wins a frame.
func TestGreedyNaN(t *testing.T) {
	nan := float32(math.NaN())
	lp := []float32{nan, -1, -2, -3, nan, -1, nan, nan, nan}
	if got := GreedyDecode(lp, 3, 3, 0); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("GreedyDecode = %v, want [1 2]", got)
	}
}

func TestTranscript(t *testing.T) {
	A, B, bar := sym("A"), sym("B"), boundary29
	tests := []struct {
		ids  []int
		want string
	}{
		{nil, ""},
		{[]int{bar, bar}, ""},
		{[]int{bar, A, bar, bar, B, A, bar}, "A BA"},
		{[]int{A, sym("'"), B}, "A'B"},
	}
	for _, tc := range tests {
		if got := Transcript(tc.ids, symbols29, bar); got != tc.want {
			t.Errorf("Transcript(%v) = %q, want %q", tc.ids, got, tc.want)
		}
	}
}

func TestWords(t *testing.T) {
	A, B, C, bar := sym("A"), sym("B"), sym("C"), boundary29
	tokens := []Token{{bar, 0, 1}, {A, 2, 3}, {B, 5, 7}, {bar, 8, 9}, {bar, 9, 10}, {C, 12, 14}}
	tests := []struct {
		name     string
		duration float64
		want     []Word
	}{
		{"unclamped", 0, []Word{{"AB", 0.02, 0.07}, {"C", 0.12, 0.14}}},
		{"end clamped", 0.13, []Word{{"AB", 0.02, 0.07}, {"C", 0.12, 0.13}}},
		{"word past the end", 0.1, []Word{{"AB", 0.02, 0.07}, {"C", 0.1, 0.1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Words(tokens, symbols29, bar, 0.01, tc.duration)
			if len(got) != len(tc.want) {
				t.Fatalf("Words = %v, want %v", got, tc.want)
			}
			for i, w := range got {
				ww := tc.want[i]
				if w.Text != ww.Text || math.Abs(w.Start-ww.Start) > 1e-12 || math.Abs(w.End-ww.End) > 1e-12 {
					t.Errorf("word %d = %+v, want %+v", i, w, ww)
				}
				if tc.duration > 0 && (w.End > tc.duration || w.Start > w.End) {
					t.Errorf("word %d = %+v runs past %v s or ends before it starts", i, w, tc.duration)
				}
			}
		})
	}
}

// TestWordsClampRandom: whatever the alignment, timed words stay inside the
// audio and in order.
func TestWordsClampRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		T := 1 + rng.IntN(60)
		lp := randomLogProbs(rng, T, 29, 3)
		duration := float64(T)*0.01 - 0.009*rng.Float64() // frames overhang the samples
		words := Words(GreedyAlign(lp, T, 29, blank29), symbols29, boundary29, 0.01, duration)
		for i, w := range words {
			if w.Start < 0 || w.End > duration || w.Start > w.End || (i > 0 && w.Start < words[i-1].End) {
				t.Fatalf("T=%d duration %v: word %d %+v out of bounds or order (%v)", T, duration, i, w, words)
			}
		}
	}
}

func TestShapePanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"short matrix", func() { GreedyAlign(make([]float32, 5), 2, 3, 0) }},
		{"blank out of range", func() { GreedyAlign(make([]float32, 6), 2, 3, 3) }},
		{"boundary is blank", func() { BeamSearch(make([]float32, 6), 2, 3, []string{"", "|", "A"}, 0, 0, BeamOptions{}) }},
		{"too few symbols", func() { BeamSearch(make([]float32, 6), 2, 3, []string{"", "|"}, 0, 1, BeamOptions{}) }},
		{"label is blank", func() { SequenceLogProb(make([]float32, 6), 2, 3, 0, []int{0}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f()
		})
	}
}

// TestTranscriptSilentSymbols: symbols that spell nothing (a published
// model's special tokens) make no word and no extra space.
func TestTranscriptSilentSymbols(t *testing.T) {
	symbols := []string{"", "|", "A", "B", ""} // 4 spells nothing, like <unk>
	ids := []int{2, 1, 4, 1, 3, 4, 1, 4}
	if got := Transcript(ids, symbols, 1); got != "A B" {
		t.Errorf("Transcript %q, want %q", got, "A B")
	}
	var tokens []Token
	for i, id := range ids {
		tokens = append(tokens, Token{ID: id, Start: i, End: i + 1})
	}
	words := Words(tokens, symbols, 1, 0.02, 0)
	if len(words) != 2 || words[0].Text != "A" || words[1].Text != "B" || words[1].End != 0.12 {
		t.Errorf("Words %+v", words)
	}
}

package wer

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWordErrors(t *testing.T) {
	tests := []struct {
		name, ref, hyp string
		want           ErrorCounts
		rate           float64
	}{
		{"identical", "the cat sat", "the cat sat", ErrorCounts{Hit: 3}, 0},
		{"one substitution", "hello world", "hello duck", ErrorCounts{Sub: 1, Hit: 1}, 0.5},
		{"insertions only", "the cat sat", "the cat sat on the mat", ErrorCounts{Ins: 3, Hit: 3}, 1},
		{"insertions in front", "sat", "the cat sat", ErrorCounts{Ins: 2, Hit: 1}, 2},
		{"deletions only", "a b c d", "a d", ErrorCounts{Del: 2, Hit: 2}, 0.5},
		{"empty hypothesis", "a b c", "", ErrorCounts{Del: 3}, 1},
		{"empty reference", "", "a b", ErrorCounts{Ins: 2}, math.Inf(1)},
		{"both empty", "", "  ", ErrorCounts{}, 0},
		{"mixed", "i love cookies", "i like cookies and ice cream", ErrorCounts{Sub: 1, Ins: 3, Hit: 2}, 4.0 / 3},
		{"white space", "  a\tb   c ", "a b c", ErrorCounts{Hit: 3}, 0},
		{"case counts", "A b", "a b", ErrorCounts{Sub: 1, Hit: 1}, 0.5},
		{"swap", "a b", "b a", ErrorCounts{Sub: 2}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := WordErrors(tc.ref, tc.hyp)
			if got != tc.want {
				t.Errorf("WordErrors(%q, %q) = %+v, want %+v", tc.ref, tc.hyp, got, tc.want)
			}
			if r := got.Rate(); r != tc.rate && math.Abs(r-tc.rate) > 1e-12 {
				t.Errorf("rate %v, want %v", r, tc.rate)
			}
		})
	}
}

func TestCharErrors(t *testing.T) {
	tests := []struct {
		name, ref, hyp string
		want           ErrorCounts
	}{
		{"substitution", "abc", "abd", ErrorCounts{Sub: 1, Hit: 2}},
		{"a missing space is a deletion", "a b", "ab", ErrorCounts{Del: 1, Hit: 2}},
		{"an extra inner space is an insertion", "hello world", "hello  world", ErrorCounts{Ins: 1, Hit: 11}},
		{"outer spaces are stripped", "  ab ", "ab", ErrorCounts{Hit: 2}},
		{"code points, not bytes", "café", "cafe", ErrorCounts{Sub: 1, Hit: 3}},
		{"empty reference", "", "ab", ErrorCounts{Ins: 2}},
		{"insertions only", "ab", "xaby", ErrorCounts{Ins: 2, Hit: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CharErrors(tc.ref, tc.hyp); got != tc.want {
				t.Errorf("CharErrors(%q, %q) = %+v, want %+v", tc.ref, tc.hyp, got, tc.want)
			}
		})
	}
}

// TestCorpusRate: a corpus rate is total errors over total reference words,
// not the mean of the utterance rates.
func TestCorpusRate(t *testing.T) {
	var c ErrorCounts
	c.Add(WordErrors("a b c d e f g h i j", "a b c d e f g h i x")) // 1/10
	c.Add(WordErrors("k", "z"))                                     // 1/1
	c.Add(WordErrors("", "q"))                                      // 1 insertion, no reference
	if want := (ErrorCounts{Sub: 2, Ins: 1, Hit: 9}); c != want {
		t.Fatalf("sum %+v, want %+v", c, want)
	}
	if got, want := c.Rate(), 3.0/11; math.Abs(got-want) > 1e-12 {
		t.Errorf("corpus rate %v, want %v", got, want)
	}
}

// levenshtein is the textbook recurrence, without the backtrace.
func levenshtein(a, b []byte) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev = cur
	}
	return prev[len(b)]
}

// TestEditCountsRandom checks, on random strings over a small alphabet, that
// the counts add up to the edit distance and to the two lengths.
func TestEditCountsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func() []byte {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = "abc"[rng.IntN(3)]
		}
		return b
	}
	for range 2000 {
		a, b := rnd(), rnd()
		c := editCounts(a, b)
		if c.Errors() != levenshtein(a, b) || c.RefLen() != len(a) || c.Hit+c.Sub+c.Ins != len(b) {
			t.Fatalf("%q -> %q: %+v; distance %d", a, b, c, levenshtein(a, b))
		}
	}
}

func TestCorpusRateFinite(t *testing.T) {
	tests := []struct {
		c    ErrorCounts
		want float64
	}{
		{ErrorCounts{}, 0},
		{ErrorCounts{Ins: 3}, 3},
		{ErrorCounts{Sub: 1, Hit: 3}, 0.25},
	}
	for _, tt := range tests {
		if got := CorpusRate(tt.c); got != tt.want {
			t.Errorf("CorpusRate(%+v) = %g, want %g", tt.c, got, tt.want)
		}
	}
}

package lm

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// buildLM builds a model of the sentences and reads it back.
func buildLM(t *testing.T, order int, sentences ...string) (*NGramLM, string) {
	t.Helper()
	b, err := NewNGramBuilder(order)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sentences {
		if err := b.Add(strings.Fields(s)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := b.WriteARPA(&buf); err != nil {
		t.Fatal(err)
	}
	m, err := ReadARPA(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	return m, buf.String()
}

// TestKneserNeyByHand checks a bigram model of "A B" and "B" against
// probabilities worked out by hand.
//
// Bigram counts: <s> A 1, A B 1, B </s> 2, <s> B 1: n1 3, n2 1, D2 = 3/5.
// Unigram continuation counts: A 1 (after <s>), B 2 (after A, <s>), </s> 1:
// n1 2, n2 1, D1 = 1/2, sum 4, 3 types, gamma 0.5*3/4 = 0.375, and the
// uniform over A, B, </s>, <unk> is 1/4. So
//
//	P(A) = P(</s>) = 0.5/4 + 0.375/4 = 0.21875, P(B) = 1.5/4 + 0.09375 = 0.46875, P(<unk>) = 0.09375.
//	gamma(<s>) = 0.6*2/2 = 0.6, gamma(A) = 0.6*1/1 = 0.6, gamma(B) = 0.6*1/2 = 0.3.
//	P(A|<s>) = 0.4/2 + 0.6*0.21875 = 0.33125     P(B|A) = 0.4 + 0.6*0.46875 = 0.68125
//	P(</s>|B) = 1.4/2 + 0.3*0.21875 = 0.765625  P(A|B) = 0.3*0.21875 = 0.065625 (unseen)
//	P(B|<s>) = 0.2 + 0.6*0.46875 = 0.48125      P(<unk>|A) = 0.6*0.09375 = 0.05625
//	P(</s>|<s>) = P(</s>|A) = 0.6*0.21875 = 0.13125 (unseen)
func TestKneserNeyByHand(t *testing.T) {
	m, arpa := buildLM(t, 2, "A B", "B")
	tests := []struct {
		words []string
		want  []float64 // per word, then </s>
	}{
		{[]string{"A", "B"}, []float64{0.33125, 0.68125, 0.765625}},
		{[]string{"B", "A"}, []float64{0.48125, 0.065625, 0.13125}},
		{nil, []float64{0.13125}},
		{[]string{"A", "ZZZ"}, []float64{0.33125, 0.05625, 0.21875}}, // <unk> is no context: P(</s>)
	}
	for _, tc := range tests {
		s := m.Start()
		for i, w := range append(tc.words, "</s>") {
			var lp float64
			if w == "</s>" {
				lp = m.Final(s)
			} else {
				s, lp = m.Score(s, w)
			}
			if math.Abs(lp-math.Log(tc.want[i])) > 1e-5 {
				t.Errorf("%v: word %d (%s): ln P %.6f, want ln %.6f = %.6f\n%s", tc.words, i, w, lp, tc.want[i], math.Log(tc.want[i]), arpa)
			}
		}
	}
}

// TestKneserNeySumsToOne checks that a trigram model of random sentences
// is a distribution after every history: over the words, </s> and <unk>.
func TestKneserNeySumsToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"A", "B", "C", "D", "E", "F", "G"}
	var text []string
	for range 40 {
		n := rng.IntN(6)
		var s []string
		for range n {
			// Skewed, so that counts of one, two and more all occur.
			s = append(s, words[min(rng.IntN(len(words)), rng.IntN(len(words)))])
		}
		text = append(text, strings.Join(s, " "))
	}
	for _, order := range []int{1, 2, 3, 4} {
		m, _ := buildLM(t, order, text...)
		if m.Order() != order {
			t.Fatalf("order %d, want %d", m.Order(), order)
		}
		// Histories: every prefix of the text, and some never seen.
		hist := append([]string{"", "ZZZ", "G G G", "A ZZZ B"}, text...)
		for _, h := range hist {
			hw := strings.Fields(h)
			for k := 0; k <= len(hw); k++ {
				s := m.Start()
				for _, w := range hw[:k] {
					s, _ = m.Score(s, w)
				}
				sum := math.Exp(m.Final(s))
				for _, w := range append(words, "ZZZ") {
					_, lp := m.Score(s, w)
					sum += math.Exp(lp)
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Errorf("order %d, after %q: probabilities sum to %.7f", order, strings.Join(hw[:k], " "), sum)
				}
			}
		}
	}
}

func TestNGramBuilderErrors(t *testing.T) {
	if _, err := NewNGramBuilder(0); err == nil {
		t.Error("order 0: no error")
	}
	b, err := NewNGramBuilder(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteARPA(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no sentences") {
		t.Errorf("empty model: error %v", err)
	}
	for _, w := range []string{"", "A B", "<s>", "</s>", "<unk>"} {
		if err := b.Add([]string{"X", w}); err == nil {
			t.Errorf("word %q: no error", w)
		}
	}
}

package lm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// NGramBuilder counts the n-grams of a text and writes an interpolated
// Kneser-Ney language model of them as an ARPA file, the model KenLM's lmplz
// builds (with one discount per order where lmplz has three, and no pruning).
// Add the sentences, then call WriteARPA; the file reads back with ReadARPA.
//
// Each sentence is padded with <s> and </s>. The highest order keeps raw
// counts; a lower-order n-gram counts the distinct words seen before it
// (its continuation count), except one that begins with <s>, which has no
// word before it and keeps its raw count. The discount of order n is
// D = n1 / (n1 + 2 n2), n1 and n2 the numbers of n-grams of that order
// counted once and twice. Then, for a context h seen with the words w,
//
//	P(w | h) = (a(h w) - D) / a(h .) + gamma(h) P(w | h'),   gamma(h) = D N(h .) / a(h .)
//
// where h' drops h's first word, a(h .) sums h's counts and N(h .) counts
// the words seen after h. gamma(h) is h's back-off weight in the file.
// Unigrams interpolate with the uniform distribution over the words, </s>
// and <unk>, so that <unk> has the mass of an unseen word.
type NGramBuilder struct {
	order     int
	sentences int
	counts    []map[string]float64 // counts[n-1]: n-gram (words joined by a space) -> raw count, highest order and <s>-initial only
}

// NewNGramBuilder returns a builder of a model of the given order (n >= 1).
func NewNGramBuilder(order int) (*NGramBuilder, error) {
	if order < 1 || order > 10 {
		return nil, fmt.Errorf("lm: n-gram order %d: want 1 to 10", order)
	}
	b := &NGramBuilder{order: order, counts: make([]map[string]float64, order)}
	for i := range b.counts {
		b.counts[i] = map[string]float64{}
	}
	return b, nil
}

// Add counts one sentence, given as its words. Words must not contain
// white space and must not be <s>, </s> or <unk>; an empty sentence counts
// as "<s> </s>".
func (b *NGramBuilder) Add(words []string) error {
	for _, w := range words {
		if w == "" || strings.ContainsFunc(w, isSpace) || w == "<s>" || w == "</s>" || w == "<unk>" {
			return fmt.Errorf("lm: n-gram builder: bad word %q", w)
		}
	}
	b.sentences++
	toks := make([]string, 0, len(words)+2)
	toks = append(toks, "<s>")
	toks = append(toks, words...)
	toks = append(toks, "</s>")
	for i := 1; i < len(toks); i++ {
		n := min(b.order, i+1)
		b.counts[n-1][strings.Join(toks[i+1-n:i+1], " ")]++
	}
	return nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// knOrder holds the model of one order while it is built.
type knOrder struct {
	adj      map[string]float64 // n-gram -> adjusted count
	prob     map[string]float64 // n-gram -> P(last word | the others)
	ctxSum   map[string]float64 // context -> a(h .)
	ctxTypes map[string]float64 // context -> N(h .)
	discount float64
}

// WriteARPA writes the model to w. It fails if no sentence was added.
func (b *NGramBuilder) WriteARPA(w io.Writer) error {
	if b.sentences == 0 {
		return errors.New("lm: n-gram builder: no sentences")
	}
	ord := make([]knOrder, b.order)
	// Adjusted counts, from the highest order down.
	for n := b.order; n >= 1; n-- {
		o := &ord[n-1]
		o.adj = map[string]float64{}
		for g, c := range b.counts[n-1] {
			o.adj[g] = c
		}
		if n < b.order {
			// Each (n+1)-gram x g adds one to g's count: <s> comes first
			// in a sentence, so it is never in g.
			for g := range ord[n].adj {
				_, suffix, _ := strings.Cut(g, " ")
				o.adj[suffix]++
			}
		}
		delete(o.adj, "<s>") // <s> is never predicted
		o.discount = knDiscount(o.adj)
		o.ctxSum, o.ctxTypes = map[string]float64{}, map[string]float64{}
		for g, c := range o.adj {
			h := ngramContext(g)
			o.ctxSum[h] += c
			o.ctxTypes[h]++
		}
	}
	// Probabilities, from the unigrams up.
	vocab := len(ord[0].adj) + 1 // the words, </s> (every sentence has one) and <unk>
	for n := 1; n <= b.order; n++ {
		o := &ord[n-1]
		o.prob = make(map[string]float64, len(o.adj))
		for g, c := range o.adj {
			h := ngramContext(g)
			p := max(c-o.discount, 0)/o.ctxSum[h] + o.gamma(h)*lowerProb(ord, n, g, vocab)
			o.prob[g] = p
		}
	}
	unk := ord[0].gamma("") / float64(vocab)

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\\data\\\n")
	for n := 1; n <= b.order; n++ {
		k := len(ord[n-1].prob)
		if n == 1 {
			k += 2 // <s>, <unk>
		}
		fmt.Fprintf(bw, "ngram %d=%d\n", n, k)
	}
	for n := 1; n <= b.order; n++ {
		fmt.Fprintf(bw, "\n\\%d-grams:\n", n)
		o := &ord[n-1]
		line := func(p float64, g string) {
			fmt.Fprintf(bw, "%.6g\t%s", p, g)
			if n < b.order {
				if bo := ord[n].gamma(g); bo > 0 {
					fmt.Fprintf(bw, "\t%.6g", math.Log10(bo))
				}
			}
			bw.WriteByte('\n')
		}
		if n == 1 {
			line(-99, "<s>")
			line(math.Log10(unk), "<unk>")
		}
		for _, g := range slices.Sorted(maps.Keys(o.prob)) {
			line(math.Log10(o.prob[g]), g)
		}
	}
	fmt.Fprintf(bw, "\n\\end\\\n")
	return bw.Flush()
}

// gamma returns the back-off weight of context h at this order: the mass the
// discounts freed, or 0 for a context never seen.
func (o *knOrder) gamma(h string) float64 {
	s := o.ctxSum[h]
	if s == 0 {
		return 0
	}
	return o.discount * o.ctxTypes[h] / s
}

// lowerProb returns P(w | h') for the n-gram g = h w of order n: the
// probability of order n-1 (every suffix of a counted n-gram is counted),
// or the uniform one below the unigrams.
func lowerProb(ord []knOrder, n int, g string, vocab int) float64 {
	if n == 1 {
		return 1 / float64(vocab)
	}
	_, suffix, _ := strings.Cut(g, " ")
	return ord[n-2].prob[suffix]
}

// ngramContext returns the first n-1 words of an n-gram ("" for a unigram).
func ngramContext(g string) string {
	i := strings.LastIndexByte(g, ' ')
	if i < 0 {
		return ""
	}
	return g[:i]
}

// knDiscount returns n1 / (n1 + 2 n2) for the counts, or 0.5 where that is
// not in (0, 1) (too few n-grams counted once or twice).
func knDiscount(adj map[string]float64) float64 {
	var n1, n2 float64
	for _, c := range adj {
		switch c {
		case 1:
			n1++
		case 2:
			n2++
		}
	}
	d := n1 / (n1 + 2*n2)
	if !(d > 0 && d < 1) {
		return 0.5
	}
	return d
}

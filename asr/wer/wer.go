package wer

import (
	"math"
	"strings"
)

// ErrorCounts holds the edit operations of a minimum Levenshtein alignment
// of a hypothesis to its reference: substitutions, deletions (reference
// tokens missing from the hypothesis), insertions (hypothesis tokens not in
// the reference) and hits (tokens that match). Counts of several utterances
// add up (Add); a corpus-level rate is the rate of the sum, as jiwer
// computes it for a list of sentences, not the mean of the rates.
type ErrorCounts struct {
	Sub, Del, Ins, Hit int
}

// RefLen returns the number of reference tokens: Sub + Del + Hit.
func (c ErrorCounts) RefLen() int { return c.Sub + c.Del + c.Hit }

// Errors returns the number of edit operations: Sub + Del + Ins.
func (c ErrorCounts) Errors() int { return c.Sub + c.Del + c.Ins }

// Rate returns (Sub + Del + Ins) / RefLen, the word or character error rate.
// An empty reference has rate 0 when the hypothesis is empty too and +Inf
// when it is not (jiwer refuses empty references; every hypothesis token
// then counts as an insertion, and an insertion over no reference tokens is
// an unbounded rate). +Inf does not encode as JSON: check RefLen first, or
// report the rate of a corpus, whose reference is rarely empty.
func (c ErrorCounts) Rate() float64 {
	if c.RefLen() == 0 {
		if c.Errors() == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return float64(c.Errors()) / float64(c.RefLen())
}

// Add adds the counts of o to c.
func (c *ErrorCounts) Add(o ErrorCounts) {
	c.Sub += o.Sub
	c.Del += o.Del
	c.Ins += o.Ins
	c.Hit += o.Hit
}

// WordErrors aligns the words of hyp to those of ref. Words are the runs of
// characters between white space, as jiwer's default transformation splits
// them (strip, collapse repeated spaces, split on spaces); they compare
// exactly, so normalise case and punctuation before calling.
func WordErrors(ref, hyp string) ErrorCounts {
	return editCounts(strings.Fields(ref), strings.Fields(hyp))
}

// CharErrors aligns the characters (Unicode code points) of hyp to those of
// ref after removing leading and trailing white space, as jiwer's default CER
// transformation does: spaces between words are characters and count, and
// repeated spaces inside the text are kept.
func CharErrors(ref, hyp string) ErrorCounts {
	return editCounts([]rune(strings.TrimSpace(ref)), []rune(strings.TrimSpace(hyp)))
}

// editCounts computes a Levenshtein alignment with unit costs and counts its
// operations. Among alignments of equal cost the backtrace prefers a match
// or substitution, then a deletion, then an insertion; the total (and so the
// rate) is the same for all of them.
func editCounts[T comparable](ref, hyp []T) ErrorCounts {
	n, m := len(ref), len(hyp)
	w := m + 1
	d := make([]int32, (n+1)*w) // d[i*w+j]: distance of ref[:i] and hyp[:j]
	for j := 0; j <= m; j++ {
		d[j] = int32(j)
	}
	for i := 1; i <= n; i++ {
		d[i*w] = int32(i)
		for j := 1; j <= m; j++ {
			diag := d[(i-1)*w+j-1]
			if ref[i-1] != hyp[j-1] {
				diag++
			}
			d[i*w+j] = min(diag, d[(i-1)*w+j]+1, d[i*w+j-1]+1)
		}
	}
	var c ErrorCounts
	for i, j := n, m; i > 0 || j > 0; {
		cur := d[i*w+j]
		switch {
		case i > 0 && j > 0 && ref[i-1] == hyp[j-1] && cur == d[(i-1)*w+j-1]:
			c.Hit++
			i, j = i-1, j-1
		case i > 0 && j > 0 && cur == d[(i-1)*w+j-1]+1:
			c.Sub++
			i, j = i-1, j-1
		case i > 0 && cur == d[(i-1)*w+j]+1:
			c.Del++
			i--
		default:
			c.Ins++
			j--
		}
	}
	return c
}

// CorpusRate is c's error rate for reporting: Rate, except that a corpus
// whose references are all empty gets errors/1 rather than +Inf, so that
// the number always encodes as JSON.
func CorpusRate(c ErrorCounts) float64 {
	return float64(c.Errors()) / float64(max(c.RefLen(), 1))
}

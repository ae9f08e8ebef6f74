package ctc

import (
	"fmt"
	"math"
	"strings"
)

// A Token is one emitted CTC symbol (never the blank) with the frames it
// covers in an alignment: Start is the first frame, End one past the last.
type Token struct {
	ID         int
	Start, End int
}

// A Word is a word of a transcript with its time span in seconds.
type Word struct {
	Text       string
	Start, End float64
}

// checkShape panics when logProbs is not a T x V matrix or blank is not a
// symbol: these are mistakes of the calling program, not of its data.
func checkShape(logProbs []float32, T, V, blank int) {
	if T < 0 || V <= 0 || len(logProbs) != T*V {
		panic(fmt.Sprintf("ctc: log-probabilities hold %d values, want T*V = %d*%d", len(logProbs), T, V))
	}
	if blank < 0 || blank >= V {
		panic(fmt.Sprintf("ctc: blank index %d out of range [0, %d)", blank, V))
	}
}

// logProb reads a log probability as float64; NaN reads as -Inf, so a
// broken network output never wins a comparison.
func logProb(v float32) float64 {
	if v != v {
		return math.Inf(-1)
	}
	return float64(v)
}

// argmax returns the index of the largest value of row, the first one on a
// tie; NaN counts as -Inf.
func argmax(row []float32) int {
	best, bv := 0, logProb(row[0])
	for k := 1; k < len(row); k++ {
		if v := logProb(row[k]); v > bv {
			best, bv = k, v
		}
	}
	return best
}

// GreedyAlign is the best-path CTC decoding: the most likely symbol of each
// frame (the first on a tie), repeats merged, blanks dropped. logProbs is a
// T x V row-major matrix of per-frame log probabilities (log-softmax
// outputs); blank is the blank's index. Each Token covers the run of frames
// in which its symbol was the most likely. It panics if len(logProbs) != T*V
// or blank is not in [0, V).
func GreedyAlign(logProbs []float32, T, V, blank int) []Token {
	checkShape(logProbs, T, V, blank)
	var out []Token
	prev := blank
	for t := 0; t < T; t++ {
		k := argmax(logProbs[t*V : (t+1)*V])
		switch {
		case k == blank:
		case k == prev:
			out[len(out)-1].End = t + 1
		default:
			out = append(out, Token{ID: k, Start: t, End: t + 1})
		}
		prev = k
	}
	return out
}

// GreedyDecode returns the label ids of GreedyAlign's tokens.
func GreedyDecode(logProbs []float32, T, V, blank int) []int {
	return TokenIDs(GreedyAlign(logProbs, T, V, blank))
}

// TokenIDs returns the symbol ids of tokens.
func TokenIDs(tokens []Token) []int {
	ids := make([]int, len(tokens))
	for i, tk := range tokens {
		ids[i] = tk.ID
	}
	return ids
}

// Transcript spells label ids out as text: the symbols of each word
// concatenated, words (the runs between word-boundary symbols) separated by
// one space, no leading or trailing space. symbols[id] is the spelling of
// symbol id ("" for one that spells nothing, such as a special token: a
// word of such symbols only is no word); it panics if an id is out of
// range.
func Transcript(ids []int, symbols []string, boundary int) string {
	var b strings.Builder
	inWord := false
	for _, id := range ids {
		if id == boundary {
			inWord = false
			continue
		}
		sym := symbols[id]
		if sym == "" { // spells nothing (a special token)
			continue
		}
		if !inWord && b.Len() > 0 {
			b.WriteByte(' ')
		}
		inWord = true
		b.WriteString(sym)
	}
	return b.String()
}

// Words groups tokens into words at the word-boundary symbol and times them:
// a word starts at the first frame of its first token and ends after the
// last frame of its last token, frameSec seconds a frame (0.01 for the
// models of this module). When duration is positive, times are clamped to
// [0, duration], so that no word runs past the end of the audio (frames can
// cover a little more than the samples they come from). Words are spelled
// with symbols (see Transcript).
func Words(tokens []Token, symbols []string, boundary int, frameSec, duration float64) []Word {
	clamp := func(s float64) float64 {
		if duration > 0 {
			s = min(s, duration)
		}
		return max(s, 0)
	}
	var words []Word
	var b strings.Builder
	first := -1
	flush := func(last int) {
		if first < 0 {
			return
		}
		if b.Len() == 0 { // only tokens that spell nothing
			first = -1
			return
		}
		words = append(words, Word{
			Text:  b.String(),
			Start: clamp(float64(tokens[first].Start) * frameSec),
			End:   clamp(float64(tokens[last].End) * frameSec),
		})
		b.Reset()
		first = -1
	}
	for i, tk := range tokens {
		if tk.ID == boundary {
			flush(i - 1)
			continue
		}
		if first < 0 {
			first = i
		}
		b.WriteString(symbols[tk.ID])
	}
	flush(len(tokens) - 1)
	return words
}

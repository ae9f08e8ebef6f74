package lm

import "math"

// ln10 converts log10 probabilities, as ARPA files store them, to natural logs.
const ln10 = math.Ln10

// unkLog10 is the log10 probability given to <unk> when an ARPA file does not
// list it, as KenLM does.
const unkLog10 = -100

// State is a language model's context, opaque to the caller: what the model
// remembers of the words scored so far. Each LM defines what its values mean.
type State int32

// An LM scores word sequences for the beam search. It is a state machine:
// Start gives the state before the first word, Score the log probability of a
// word in a state and the state after it, Final the log probability of the end
// of the sentence in a state. All scores are natural logarithms.
type LM interface {
	Start() State
	Score(s State, word string) (next State, logProb float64)
	Final(s State) float64
}

// NGramLM is a word n-gram language model with Katz back-off, read from an
// ARPA file by ReadARPA. It answers queries as KenLM does: the probability of
// word w after history h is that of the longest n-gram (h', w) in the model,
// h' a suffix of h, times the back-off weights of the longer suffixes of h
// that were skipped. Words missing from the model are scored as <unk>.
// Words are matched exactly (case matters). An NGramLM is safe for
// concurrent use once read.
type NGramLM struct {
	order   int
	vocab   map[string]int32 // word -> id
	bos     State            // the state after <s>
	eos     int32            // id of </s>
	unk     int32            // id of <unk>
	entries []ngram          // entries[0] is the empty context
	index   map[ngramKey]int32
}

// ngram is one n-gram of the model; its words are those of its context
// entry followed by the word of its key.
type ngram struct {
	log10   float32 // log10 probability
	backoff float32 // log10 back-off weight (0 when the file gives none)
	suffix  int32   // the longest proper suffix listed in the model
	order   int32
}

// ngramKey finds an n-gram by its context (the entry of its first n-1 words)
// and its last word.
type ngramKey struct{ ctx, word int32 }

// Order returns the model's n: the length of its longest n-grams.
func (m *NGramLM) Order() int { return m.order }

// VocabSize returns the number of distinct words among the model's unigrams,
// <s>, </s> and <unk> included.
func (m *NGramLM) VocabSize() int { return len(m.vocab) }

// Start returns the state after the sentence-start token <s>.
func (m *NGramLM) Start() State { return m.bos }

// Score returns the natural log probability of word in state s and the state
// after it.
func (m *NGramLM) Score(s State, word string) (State, float64) {
	w, ok := m.vocab[word]
	if !ok {
		w = m.unk
	}
	return m.score(int32(s), w)
}

// Final returns the natural log probability of the sentence end </s> in s.
func (m *NGramLM) Final(s State) float64 {
	_, lp := m.score(int32(s), m.eos)
	return lp
}

// score backs off from context h until the n-gram (h, w) is in the model.
// Every word id is a unigram, so the loop ends at the empty context at the
// latest.
func (m *NGramLM) score(h, w int32) (State, float64) {
	var backoff float64
	for {
		if e, ok := m.index[ngramKey{h, w}]; ok {
			ng := &m.entries[e]
			next := e
			if int(ng.order) == m.order {
				// A longest n-gram cannot be extended: the next context
				// is its longest suffix in the model.
				next = ng.suffix
			}
			return State(next), (backoff + float64(ng.log10)) * ln10
		}
		backoff += float64(m.entries[h].backoff)
		h = m.entries[h].suffix
	}
}

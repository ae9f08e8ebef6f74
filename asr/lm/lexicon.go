package lm

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// A Lexicon is the set of words a beam search may spell: with one, every
// word of a transcript is one of its words, as with flashlight's lexicon
// decoder (torchaudio's ctc_decoder with a lexicon). It is a trie over the
// words' bytes. A Lexicon is safe for concurrent use once made.
type Lexicon struct {
	// The trie: node 0 is the root, and a node's number is larger than its
	// parent's. The children of node n are child[first[n]:first[n+1]],
	// reached by the bytes label[first[n]:first[n+1]] in ascending order.
	first []int32
	label []byte
	child []int32
	word  []bool // word[n]: the path to node n spells a word
	words int
	// ahead[n], if not nil, is the best LM log probability after <s> of
	// the words the path to node n begins (see LookAhead).
	ahead []float32
}

// NewLexicon makes a lexicon of the given words. Words are matched exactly
// (case matters, as in NGramLM); empty words and repeats are ignored.
func NewLexicon(words []string) *Lexicon {
	ws := slices.Clone(words)
	slices.Sort(ws)
	ws = slices.Compact(ws)
	// Inserted in sorted order, each word shares a prefix with the one
	// before and adds the nodes for the rest: parent[c] and spell[c] are
	// node c's incoming edge.
	l := &Lexicon{word: []bool{false}}
	parent, spell := []int32{-1}, []byte{0}
	path := []int32{0} // path[i]: the node after the previous word's first i bytes
	prev := ""
	for _, w := range ws {
		if w == "" {
			continue
		}
		p := 0
		for p < len(prev) && p < len(w) && prev[p] == w[p] {
			p++
		}
		path = path[:p+1]
		for i := p; i < len(w); i++ {
			c := int32(len(l.word))
			l.word = append(l.word, false)
			parent, spell = append(parent, path[i]), append(spell, w[i])
			path = append(path, c)
		}
		l.word[path[len(w)]] = true
		l.words++
		prev = w
	}
	n := len(l.word)
	l.first = make([]int32, n+1)
	for c := 1; c < n; c++ {
		l.first[parent[c]+1]++
	}
	for i := range n {
		l.first[i+1] += l.first[i]
	}
	l.label, l.child = make([]byte, n-1), make([]int32, n-1)
	next := slices.Clone(l.first[:n])
	for c := 1; c < n; c++ { // children in creation order, which is byte order
		i := next[parent[c]]
		next[parent[c]]++
		l.label[i], l.child[i] = spell[c], int32(c)
	}
	return l
}

// ReadLexicon reads a lexicon: the first field of each non-empty line is a
// word, so plain word lists and flashlight's lexicon files ("WORD\tW O R D |")
// both serve. The text may be gzipped.
func ReadLexicon(r io.Reader) (*Lexicon, error) {
	r, err := maybeGunzip(r)
	if err != nil {
		return nil, err
	}
	var words []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			words = append(words, f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("no words")
	}
	return NewLexicon(words), nil
}

// ReadLexiconFile reads a lexicon file (see ReadLexicon); errors name it.
func ReadLexiconFile(path string) (*Lexicon, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadLexicon(f)
	if err != nil {
		return nil, fmt.Errorf("lexicon %s: %w", path, err)
	}
	return l, nil
}

// LookAhead returns a lexicon of the same words that carries look-ahead
// scores from lm, as flashlight's decoder smears them: each prefix gets the
// best log probability, after the sentence start, among the words it
// begins. A beam search with this lexicon charges an unfinished word that
// score (times the LM weight) and swaps it for the word's own LM score when
// the word ends, so that hypotheses inside a word are not pruned for
// lacking the LM cost that the others have already paid. Use it with the
// same LM in BeamOptions. The two lexicons share their trie.
func (l *Lexicon) LookAhead(lm LM) *Lexicon {
	out := *l
	parent := make([]int32, len(l.word))
	spell := make([]byte, len(l.word))
	for n := range len(l.word) {
		for i := l.first[n]; i < l.first[n+1]; i++ {
			parent[l.child[i]], spell[l.child[i]] = int32(n), l.label[i]
		}
	}
	out.ahead = make([]float32, len(l.word))
	start := lm.Start()
	var buf []byte
	for n := range out.ahead {
		out.ahead[n] = float32(math.Inf(-1))
		if !l.word[n] {
			continue
		}
		buf = buf[:0]
		for c := int32(n); c != 0; c = parent[c] {
			buf = append(buf, spell[c])
		}
		slices.Reverse(buf)
		_, lp := lm.Score(start, string(buf))
		out.ahead[n] = float32(lp)
	}
	// A child is made after its parent, so a walk down the node numbers
	// has every child's value before its parent's.
	for n := len(out.ahead) - 1; n > 0; n-- {
		out.ahead[parent[n]] = max(out.ahead[parent[n]], out.ahead[n])
	}
	return &out
}

// Len returns the number of distinct words.
func (l *Lexicon) Len() int { return l.words }

// Contains reports whether w is one of the words.
func (l *Lexicon) Contains(w string) bool {
	n := l.Walk(0, w)
	return n >= 0 && l.word[n]
}

// Spellable returns how many of the words can be spelled with symbols (each
// word a concatenation of them): a lexicon in another case or alphabet than
// a model's gives 0.
func (l *Lexicon) Spellable(symbols []string) int {
	// A breadth-first walk of the trie by whole symbols; a node is visited
	// once, so each word is counted once.
	seen := map[int32]bool{0: true}
	queue := []int32{0}
	count := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, s := range symbols {
			if s == "" {
				continue
			}
			if c := l.Walk(n, s); c >= 0 && !seen[c] {
				seen[c] = true
				queue = append(queue, c)
				if l.word[c] {
					count++
				}
			}
		}
	}
	return count
}

// The lexicon is walked as a trie by a decoder: from LexiconRoot, Walk
// follows a symbol's spelling to the next node, IsWord says whether the
// path to a node spells a word, and Ahead gives a node's look-ahead score.

// LexiconRoot is the trie's root, where every word starts.
const LexiconRoot int32 = 0

// Walk follows s from node n and returns the node reached, or -1 when no
// word continues so.
func (l *Lexicon) Walk(n int32, s string) int32 {
	for i := range len(s) {
		lo, hi := l.first[n], l.first[n+1]
		j := lo
		for j < hi && l.label[j] < s[i] {
			j++
		}
		if j == hi || l.label[j] != s[i] {
			return -1
		}
		n = l.child[j]
	}
	return n
}

// IsWord reports whether the path to node n spells a word.
func (l *Lexicon) IsWord(n int32) bool { return l.word[n] }

// HasLookAhead reports whether the lexicon was made by LookAhead.
func (l *Lexicon) HasLookAhead() bool { return l.ahead != nil }

// Ahead returns the best LM log probability (natural log, after <s>) of
// the words that the path to node n begins, or 0 without look-ahead.
func (l *Lexicon) Ahead(n int32) float64 {
	if l.ahead == nil {
		return 0
	}
	return float64(l.ahead[n])
}

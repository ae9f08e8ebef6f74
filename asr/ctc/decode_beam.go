package ctc

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/wav2vec-go/wav2vec/asr/lm"
)

// DefaultBeamThreshold is BeamOptions.Threshold's default.
const DefaultBeamThreshold = 50

// DefaultTokenThreshold is BeamOptions.TokenThreshold's default: symbols
// e^10 (22,000) times less likely than a frame's best are not tried. On the
// default model and the synthetic recipe's dev split it decodes 6.3 times
// faster than trying every symbol, with the same transcripts' WER.
const DefaultTokenThreshold = 10

// BeamOptions configures BeamSearch. The zero value follows the best path
// only (Beam 1) without a language model.
type BeamOptions struct {
	// Beam is how many hypotheses survive each frame, as in asr.Options:
	// 1 (or less) follows the best path only.
	Beam int
	// TokenBeam, when positive, tries at each frame only that many of the
	// most likely symbols (and the blank, always); 0 tries them all.
	TokenBeam int
	// Threshold drops, at each frame, the hypotheses that score more than
	// Threshold below the best (natural log); 0 (or less) means
	// DefaultBeamThreshold, torchaudio's beam_threshold default.
	// math.Inf(1) keeps them all.
	Threshold float64
	// TokenThreshold, when positive, tries at each frame only the symbols
	// whose log probability is within TokenThreshold of the frame's most
	// likely symbol (and the blank, always); 0 (or less) means
	// DefaultTokenThreshold, math.Inf(1) tries them all. On frames where
	// the blank dominates, as most frames of a CTC model's output do, every
	// hypothesis is then extended by the blank alone.
	TokenThreshold float64
	// LM, if not nil, scores each word when its word-boundary symbol is
	// emitted, and the last word and the sentence end after the last frame.
	// (Leave it nil for no LM: a nil *lm.NGramLM stored in it is not nil.)
	LM lm.LM
	// LMWeight multiplies the LM's natural-log probabilities (used as
	// given: 0 leaves the LM without influence).
	LMWeight float64
	// WordScore is added for every word, with or without an LM; a positive
	// value favours more, shorter words.
	WordScore float64
	// Lexicon, if not nil, is the set of words the transcript may use: a
	// hypothesis that spells anything else is dropped. If no hypothesis
	// ends on a whole word, the search is run again without it. A lexicon
	// made by LookAhead(LM) lets the LM weigh unfinished words, which
	// prunes better: its scores only order the hypotheses, the result's
	// score is the same.
	Lexicon *lm.Lexicon
}

// BeamSearch decodes a T x V matrix of per-frame log probabilities with a
// CTC prefix beam search in the manner of flashlight's lexicon-free decoder
// (torchaudio's ctc_decoder without a lexicon), with a word-level LM as
// KenLM-based decoders apply it. A hypothesis is a label prefix together
// with whether its last frame was a blank; paths that reach the same
// hypothesis merge (their probabilities add). Its score is
//
//	log P_ctc(prefix) + LMWeight * sum log P_lm(word | history) + WordScore * words
//
// where a word is the symbols between two word-boundary symbols (empty words
// are skipped) and is scored when the boundary after it is emitted; after
// the last frame the unfinished word and the sentence end </s> are scored.
//
// The search keeps the opt.Beam best hypotheses per frame, so with Beam 1 it
// follows the best path and returns what GreedyAlign returns (up to exact
// ties between paths). It costs O(T * Beam * V) time and keeps up to
// T * Beam prefixes in memory. Its winner is
// then compared, by the exact CTC likelihood of its labels (SequenceLogProb)
// plus its LM and word scores, with the greedy transcript, and the better of
// the two is returned: without an LM and with WordScore 0 the result is never
// less likely than greedy decoding's.
//
// The result is the chosen labels, timed by forced alignment (Align), and
// their score as above, with the exact CTC log likelihood. symbols[id] spells
// symbol id (the LM sees words spelled so); boundary is the index of the
// word-boundary symbol ("|"). It panics if len(logProbs) != T*V, if blank or
// boundary is not in [0, V) or they are equal, or if len(symbols) < V.
func BeamSearch(logProbs []float32, T, V int, symbols []string, blank, boundary int, opt BeamOptions) ([]Token, float64) {
	s := newBeamSearcher(logProbs, T, V, symbols, blank, boundary, opt)
	labels, ok := s.search()
	if !ok {
		opt.Lexicon = nil
		s = newBeamSearcher(logProbs, T, V, symbols, blank, boundary, opt)
		labels, _ = s.search()
	}
	best := SequenceLogProb(logProbs, T, V, blank, labels) + s.lmTerms(labels)
	if g := GreedyDecode(logProbs, T, V, blank); !slices.Equal(g, labels) && s.inLexicon(g) {
		if sg := SequenceLogProb(logProbs, T, V, blank, g) + s.lmTerms(g); sg > best {
			labels, best = g, sg
		}
	}
	tokens, _, err := Align(logProbs, T, V, blank, labels)
	if err != nil {
		// Every path has probability zero (the matrix is all -Inf or NaN
		// where it matters): nothing is likelier than the best path.
		return GreedyAlign(logProbs, T, V, blank), math.Inf(-1)
	}
	return tokens, best
}

// beamNode is a label prefix: nodes form a tree whose root is the empty
// prefix, and each prefix has one node, so a pointer identifies it.
type beamNode struct {
	parent   *beamNode
	children []*beamNode
	tok      int      // the last label; -1 at the root
	wordLen  int      // labels since the last word boundary
	lmState  lm.State // the LM's state after the completed words
	lmScore  float64
	lex      int32 // the lexicon's trie node of the unfinished word

	// closed is set once the unfinished word's LM and word scores
	// (closedScore, weighted) and the LM state after it are known.
	closed      bool
	closedState lm.State
	closedScore float64

	// The candidates of frame stamp that lead to this node (cand, indexed
	// by blank-ness; -1 for none) or to a child it does not have yet
	// (pending): they let paths that reach the same hypothesis merge.
	stamp   int
	cand    [2]int
	pending []pendingChild
}

type pendingChild struct{ tok, cand int }

// touch resets the node's candidate slots when frame is a new one.
func (n *beamNode) touch(frame int) {
	if n.stamp != frame {
		n.stamp = frame
		n.cand = [2]int{-1, -1}
		n.pending = n.pending[:0]
	}
}

func (n *beamNode) child(tok int) *beamNode {
	for _, c := range n.children {
		if c.tok == tok {
			return c
		}
	}
	return nil
}

// labels returns the prefix as label ids.
func (n *beamNode) labels() []int {
	var out []int
	for ; n.parent != nil; n = n.parent {
		out = append(out, n.tok)
	}
	slices.Reverse(out)
	return out
}

// beamHyp is a search state: a prefix and whether the last frame was blank.
type beamHyp struct {
	node  *beamNode
	blank bool
	score float64 // log probability of the merged paths (acoustic only)
}

// beamCand is a hypothesis of the next frame. A candidate for a prefix that
// has no node yet carries the parent node, the label and the LM values the
// node will get if the candidate survives.
type beamCand struct {
	beamHyp
	parent  *beamNode
	tok     int
	wordLen int
	lmState lm.State
	lmScore float64
	lex     int32
}

func (c *beamCand) total() float64 { return c.score + c.lmScore }

type beamSearcher struct {
	logProbs     []float32
	T, V         int
	blank, bound int
	symbols      []string
	opt          BeamOptions
	hyps         []beamHyp
	cands        []beamCand
	frame        int // 1 + the index of the frame being expanded
	ranked       []ranked
	toks         []int
	word, lmWord []byte
	rowOrder     []int
	lmStart      lm.State
}

func newBeamSearcher(logProbs []float32, T, V int, symbols []string, blank, boundary int, opt BeamOptions) *beamSearcher {
	checkShape(logProbs, T, V, blank)
	if boundary < 0 || boundary >= V || boundary == blank {
		panic(fmt.Sprintf("ctc: word-boundary index %d out of range [0, %d) or equal to the blank", boundary, V))
	}
	if len(symbols) < V {
		panic(fmt.Sprintf("ctc: %d symbols for %d log-probabilities per frame", len(symbols), V))
	}
	opt.Beam = max(opt.Beam, 1)
	if opt.Threshold <= 0 {
		opt.Threshold = DefaultBeamThreshold
	}
	if opt.TokenThreshold <= 0 {
		opt.TokenThreshold = DefaultTokenThreshold
	}
	if opt.TokenBeam <= 0 || opt.TokenBeam > V {
		opt.TokenBeam = V
	}
	s := &beamSearcher{
		logProbs: logProbs, T: T, V: V, blank: blank, bound: boundary,
		symbols: symbols, opt: opt,
	}
	if opt.LM != nil {
		s.lmStart = opt.LM.Start()
	}
	return s
}

// search runs the beam over all frames and returns the best prefix by the
// search's own scores; false if, with a lexicon, no surviving prefix ends
// on a whole word.
func (s *beamSearcher) search() ([]int, bool) {
	root := &beamNode{tok: -1, lmState: s.lmStart}
	s.hyps = append(s.hyps[:0], beamHyp{node: root, blank: true})
	for t := 0; t < s.T; t++ {
		s.frame = t + 1
		s.step(s.logProbs[t*s.V : (t+1)*s.V])
	}
	return s.finalBest()
}

// step extends every hypothesis by every tried symbol of one frame, merges
// the candidates that reach the same hypothesis and keeps the best.
func (s *beamSearcher) step(row []float32) {
	toks := s.tokens(row)
	s.cands = s.cands[:0]
	for _, h := range s.hyps {
		for _, k := range toks {
			sc := h.score + logProb(row[k])
			switch {
			case k == s.blank:
				s.addNode(h.node, true, sc)
			case k == h.node.tok && !h.blank:
				s.addNode(h.node, false, sc) // a repeat without blank merges
			default:
				s.addChild(h.node, k, sc)
			}
		}
	}
	s.prune()
}

// tokens returns the symbols to try in a frame, in increasing index order.
func (s *beamSearcher) tokens(row []float32) []int {
	s.toks = s.toks[:0]
	if s.opt.TokenBeam >= s.V {
		top := math.Inf(-1)
		for _, v := range row {
			top = max(top, logProb(v))
		}
		cut := top - s.opt.TokenThreshold
		for k, v := range row {
			if k == s.blank || logProb(v) >= cut {
				s.toks = append(s.toks, k)
			}
		}
		return s.toks
	}
	s.rowOrder = s.rowOrder[:0]
	for k := range s.V {
		s.rowOrder = append(s.rowOrder, k)
	}
	slices.SortStableFunc(s.rowOrder, func(a, b int) int {
		va, vb := logProb(row[a]), logProb(row[b])
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	s.toks = append(s.toks, s.rowOrder[:s.opt.TokenBeam]...)
	if !slices.Contains(s.toks, s.blank) {
		s.toks = append(s.toks, s.blank)
	}
	slices.Sort(s.toks)
	return s.toks
}

func (s *beamSearcher) addNode(n *beamNode, blank bool, sc float64) {
	n.touch(s.frame)
	b := 0
	if blank {
		b = 1
	}
	if i := n.cand[b]; i >= 0 {
		s.cands[i].score = logAdd(s.cands[i].score, sc)
		return
	}
	n.cand[b] = len(s.cands)
	s.cands = append(s.cands, beamCand{beamHyp: beamHyp{node: n, blank: blank, score: sc}, lmScore: n.lmScore})
}

func (s *beamSearcher) addChild(n *beamNode, k int, sc float64) {
	if c := n.child(k); c != nil {
		s.addNode(c, false, sc)
		return
	}
	n.touch(s.frame)
	for _, p := range n.pending {
		if p.tok == k {
			s.cands[p.cand].score = logAdd(s.cands[p.cand].score, sc)
			return
		}
	}
	c := beamCand{beamHyp: beamHyp{score: sc}, parent: n, tok: k,
		wordLen: n.wordLen + 1, lmState: n.lmState, lmScore: n.lmScore}
	if lex := s.opt.Lexicon; lex != nil {
		if k == s.bound {
			if !s.wordEnd(n) {
				return
			}
			c.lex = 0
		} else if c.lex = lex.Walk(n.lex, s.symbols[k]); c.lex < 0 {
			return
		}
		// The look-ahead score of the unfinished word replaces the
		// previous one; at a boundary the word's own score replaces it.
		c.lmScore += s.ahead(c.lex) - s.ahead(n.lex)
	}
	if k == s.bound {
		c.wordLen = 0
		if n.wordLen > 0 {
			if !n.closed {
				// The same boundary is tried at many frames before it
				// survives: score the word once per prefix.
				n.closed = true
				n.closedState, n.closedScore = s.scoreWord(n.lmState, 0, s.lastWord(n))
			}
			c.lmState, c.lmScore = n.closedState, c.lmScore+n.closedScore
		}
	}
	n.pending = append(n.pending, pendingChild{tok: k, cand: len(s.cands)})
	s.cands = append(s.cands, c)
}

// lastWord spells the unfinished word at the end of prefix n.
func (s *beamSearcher) lastWord(n *beamNode) string {
	s.word = s.word[:0]
	for range n.wordLen {
		sym := s.symbols[n.tok]
		for j := len(sym) - 1; j >= 0; j-- { // built backwards, reversed below
			s.word = append(s.word, sym[j])
		}
		n = n.parent
	}
	slices.Reverse(s.word)
	return string(s.word)
}

// scoreWord adds a completed word's weighted LM score and the word score.
func (s *beamSearcher) scoreWord(st lm.State, score float64, word string) (lm.State, float64) {
	if s.opt.LM != nil {
		var lp float64
		st, lp = s.opt.LM.Score(st, word)
		score += s.opt.LMWeight * lp
	}
	return st, score + s.opt.WordScore
}

// lmTerms returns the LM and word-score part of the score of a complete
// label sequence: every non-empty word, then the sentence end.
func (s *beamSearcher) lmTerms(labels []int) float64 {
	st, score := s.lmStart, 0.0
	w := s.lmWord[:0]
	for i, l := range labels {
		if l != s.bound {
			w = append(w, s.symbols[l]...)
		}
		if (l == s.bound || i == len(labels)-1) && len(w) > 0 {
			st, score = s.scoreWord(st, score, string(w))
			w = w[:0]
		}
	}
	s.lmWord = w
	if s.opt.LM != nil {
		score += s.opt.LMWeight * s.opt.LM.Final(st)
	}
	return score
}

// ranked is a candidate's index and total score, for pruning.
type ranked struct {
	total float64
	i     int
}

// rankOrder orders candidates by total score, then by creation order, so
// that ties go to the lower symbol index as in GreedyAlign.
func rankOrder(a, b ranked) int {
	switch {
	case a.total > b.total:
		return -1
	case a.total < b.total:
		return 1
	}
	return cmp.Compare(a.i, b.i)
}

// prune keeps the opt.Beam best candidates within opt.Threshold of the best
// and makes them the hypotheses, best first, creating the nodes of new
// prefixes.
func (s *beamSearcher) prune() {
	best := math.Inf(-1)
	for i := range s.cands {
		best = max(best, s.cands[i].total())
	}
	cut := best - s.opt.Threshold
	r := s.ranked[:0]
	for i := range s.cands {
		if t := s.cands[i].total(); !(t < cut) {
			r = append(r, ranked{t, i})
		}
	}
	if len(r) > s.opt.Beam {
		selectBest(r, s.opt.Beam)
		r = r[:s.opt.Beam]
	}
	slices.SortFunc(r, rankOrder)
	s.ranked = r
	s.hyps = s.hyps[:0]
	for _, x := range r {
		c := &s.cands[x.i]
		if c.node == nil {
			c.node = &beamNode{parent: c.parent, tok: c.tok, wordLen: c.wordLen, lmState: c.lmState, lmScore: c.lmScore, lex: c.lex}
			c.parent.children = append(c.parent.children, c.node)
		}
		s.hyps = append(s.hyps, c.beamHyp)
	}
}

// selectBest moves the k best of r (by rankOrder, a total order) into
// r[:k], in no particular order: quickselect with a median-of-three pivot.
func selectBest(r []ranked, k int) {
	lo, hi := 0, len(r)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if rankOrder(r[mid], r[lo]) < 0 {
			r[mid], r[lo] = r[lo], r[mid]
		}
		if rankOrder(r[hi], r[lo]) < 0 {
			r[hi], r[lo] = r[lo], r[hi]
		}
		if rankOrder(r[hi], r[mid]) < 0 {
			r[hi], r[mid] = r[mid], r[hi]
		}
		pivot := r[mid]
		i, j := lo, hi
		for i <= j {
			for rankOrder(r[i], pivot) < 0 {
				i++
			}
			for rankOrder(pivot, r[j]) < 0 {
				j--
			}
			if i <= j {
				r[i], r[j] = r[j], r[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}

// ahead returns the weighted look-ahead score of the lexicon's trie node n
// (0 at the root, without look-ahead scores or without an LM).
func (s *beamSearcher) ahead(n int32) float64 {
	if n == 0 || !s.opt.Lexicon.HasLookAhead() || s.opt.LM == nil {
		return 0
	}
	return s.opt.LMWeight * s.opt.Lexicon.Ahead(n)
}

// wordEnd reports whether prefix n ends on a word boundary or, with a
// lexicon, on a whole word of it.
func (s *beamSearcher) wordEnd(n *beamNode) bool {
	return n.wordLen == 0 || s.opt.Lexicon == nil || s.opt.Lexicon.IsWord(n.lex)
}

// inLexicon reports whether every word of labels is in the lexicon (true
// without one).
func (s *beamSearcher) inLexicon(labels []int) bool {
	if s.opt.Lexicon == nil {
		return true
	}
	n := int32(0)
	for _, l := range labels {
		if l == s.bound {
			if n != 0 && !s.opt.Lexicon.IsWord(n) {
				return false
			}
			n = 0
		} else if n = s.opt.Lexicon.Walk(n, s.symbols[l]); n < 0 {
			return false
		}
	}
	return n == 0 || s.opt.Lexicon.IsWord(n)
}

// finalBest merges the hypotheses of each prefix, adds the scores of the
// last word and the sentence end, and returns the best prefix whose last
// word is whole (false if there is none).
func (s *beamSearcher) finalBest() ([]int, bool) {
	acoustic := make(map[*beamNode]float64, len(s.hyps))
	var order []*beamNode
	for _, h := range s.hyps {
		if !s.wordEnd(h.node) {
			continue
		}
		if a, ok := acoustic[h.node]; ok {
			acoustic[h.node] = logAdd(a, h.score)
			continue
		}
		acoustic[h.node] = h.score
		order = append(order, h.node)
	}
	var best []int
	bestScore := math.Inf(-1)
	for i, n := range order {
		labels := n.labels()
		if sc := acoustic[n] + s.lmTerms(labels); i == 0 || sc > bestScore {
			best, bestScore = labels, sc
		}
	}
	return best, len(order) > 0
}

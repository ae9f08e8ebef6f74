package lm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// maxARPAOrder bounds the n of the n-grams an ARPA file may declare.
const maxARPAOrder = 20

// maxARPAPrealloc bounds what the counts in an ARPA header may make ReadARPA
// allocate before the n-grams themselves have been read.
const maxARPAPrealloc = 1 << 20

// ARPAError reports a malformed ARPA file: the file (empty when read from a
// reader without a name), the line (0 when the problem is the whole file) and
// what is wrong. Err is what was wrong; errors.Is sees it.
type ARPAError struct {
	File string
	Line int
	Err  error
}

func (e *ARPAError) Error() string {
	where := e.File
	if where == "" {
		where = "ARPA input"
	}
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	return "lm: " + where + ": " + e.Err.Error()
}

func (e *ARPAError) Unwrap() error { return e.Err }

// ReadARPA reads a word n-gram model in the ARPA text format that SRILM and
// KenLM write:
//
//	\data\
//	ngram 1=3
//	ngram 2=2
//
//	\1-grams:
//	-1.0	<s>	-0.5
//	-0.5	</s>
//	-0.7	HELLO	-0.3
//
//	\2-grams:
//	-0.2	<s> HELLO
//	-0.1	HELLO </s>
//
//	\end\
//
// Each n-gram line holds a log10 probability, the n words and, below the
// highest order, an optional log10 back-off weight (one at the highest
// order is read and has no use). Lines before \data\ are
// ignored. The unigrams must include <s> and </s>; a missing <unk> is added
// with log10 probability -100, as KenLM does. Every n-gram's first n-1 words
// must be listed as an (n-1)-gram. The text may be gzipped. A malformed file gives an *ARPAError that
// names the line; a file cut short gives one that wraps io.ErrUnexpectedEOF.
func ReadARPA(r io.Reader) (*NGramLM, error) {
	return readARPA(r, "")
}

// ReadARPAFile reads the ARPA file at path (see ReadARPA).
func ReadARPAFile(path string) (*NGramLM, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lm: reading language model: %w", err)
	}
	defer f.Close()
	return readARPA(f, path)
}

// arpaReader holds the state of one ReadARPA call.
type arpaReader struct {
	sc   *bufio.Scanner
	file string
	line int
	m    *NGramLM
}

func readARPA(r io.Reader, file string) (*NGramLM, error) {
	r, err := maybeGunzip(r)
	if err != nil {
		return nil, &ARPAError{File: file, Err: err}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	p := &arpaReader{sc: sc, file: file}
	m, err := p.read()
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (p *arpaReader) errorf(format string, args ...any) error {
	return &ARPAError{File: p.file, Line: p.line, Err: fmt.Errorf(format, args...)}
}

// next returns the next line with surrounding white space removed; at the
// end of the input it returns a wrapped io.ErrUnexpectedEOF, since a
// well-formed file ends with \end\.
func (p *arpaReader) next() (string, error) {
	if !p.sc.Scan() {
		if err := p.sc.Err(); err != nil {
			return "", &ARPAError{File: p.file, Line: p.line + 1, Err: err}
		}
		return "", &ARPAError{File: p.file, Err: fmt.Errorf("missing \\end\\: %w", io.ErrUnexpectedEOF)}
	}
	p.line++
	return strings.TrimSpace(p.sc.Text()), nil
}

// nextContent skips blank lines.
func (p *arpaReader) nextContent() (string, error) {
	for {
		s, err := p.next()
		if err != nil || s != "" {
			return s, err
		}
	}
}

func (p *arpaReader) read() (*NGramLM, error) {
	for {
		s, err := p.next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &ARPAError{File: p.file, Err: errors.New("no \\data\\ section: not an ARPA file")}
		}
		if err != nil {
			return nil, err
		}
		if s == `\data\` {
			break
		}
	}
	counts, s, err := p.readCounts()
	if err != nil {
		return nil, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	prealloc := min(total+2, maxARPAPrealloc)
	p.m = &NGramLM{
		order:   len(counts),
		vocab:   make(map[string]int32, min(counts[0]+1, maxARPAPrealloc)),
		entries: make([]ngram, 1, prealloc),
		index:   make(map[ngramKey]int32, prealloc),
	}
	for n := 1; n <= len(counts); n++ {
		if want := fmt.Sprintf(`\%d-grams:`, n); s != want {
			return nil, p.errorf("found %q where %q should begin", s, want)
		}
		if s, err = p.readSection(n, counts[n-1]); err != nil {
			return nil, err
		}
	}
	if s != `\end\` {
		return nil, p.errorf(`found %q where \end\ should be`, s)
	}
	return p.m, p.finish()
}

// readCounts reads the "ngram N=count" lines and returns the counts and the
// first line after them.
func (p *arpaReader) readCounts() ([]int, string, error) {
	var counts []int
	for {
		s, err := p.nextContent()
		if err != nil {
			return nil, "", err
		}
		rest, ok := strings.CutPrefix(s, "ngram ")
		if !ok {
			if len(counts) == 0 {
				return nil, "", p.errorf(`no "ngram N=count" lines after \data\`)
			}
			return counts, s, nil
		}
		ns, cs, ok := strings.Cut(rest, "=")
		n, err1 := strconv.Atoi(strings.TrimSpace(ns))
		c, err2 := strconv.Atoi(strings.TrimSpace(cs))
		if !ok || err1 != nil || err2 != nil || c < 0 {
			return nil, "", p.errorf("bad count line %q: want \"ngram N=count\"", s)
		}
		if n != len(counts)+1 || n > maxARPAOrder {
			return nil, "", p.errorf("count for order %d out of sequence (want order %d, at most %d)", n, len(counts)+1, maxARPAOrder)
		}
		if n == 1 && c == 0 {
			return nil, "", p.errorf("the model has no unigrams")
		}
		counts = append(counts, c)
	}
}

// readSection reads the count n-grams of order n and returns the line after
// them.
func (p *arpaReader) readSection(n, count int) (string, error) {
	words := make([]string, n)
	found := 0
	for {
		s, err := p.nextContent()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(s, `\`) {
			if found != count {
				return "", p.errorf("the header declares %d %d-grams, the section has %d", count, n, found)
			}
			return s, nil
		}
		found++
		fields := strings.Fields(s)
		if len(fields) != n+1 && len(fields) != n+2 {
			return "", p.errorf("want a log10 probability, %d words and an optional back-off weight, got %d fields", n, len(fields))
		}
		lp, err := p.parseLog10(fields[0], "probability")
		if err != nil {
			return "", err
		}
		if lp > 0 {
			return "", p.errorf("log10 probability %s is above 0", fields[0])
		}
		var bo float64
		if len(fields) == n+2 {
			if bo, err = p.parseLog10(fields[n+1], "back-off weight"); err != nil {
				return "", err
			}
		}
		copy(words, fields[1:n+1])
		if err := p.add(words, float32(lp), float32(bo)); err != nil {
			return "", err
		}
	}
}

func (p *arpaReader) parseLog10(s, what string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 1) {
		return 0, p.errorf("bad %s %q: want a log10 value", what, s)
	}
	return v, nil
}

// add enters one n-gram. Unigrams give words their ids; a longer n-gram's
// first n-1 words must already be an entry.
func (p *arpaReader) add(words []string, lp, bo float32) error {
	m := p.m
	n := len(words)
	if n == 1 {
		if _, dup := m.vocab[words[0]]; dup {
			return p.errorf("unigram %q is listed twice", words[0])
		}
		m.vocab[words[0]] = int32(len(m.vocab))
	}
	ctx := int32(0)
	for i, w := range words[:n-1] {
		id, ok := m.vocab[w]
		if !ok {
			return p.errorf("word %q of %q is not among the unigrams", w, strings.Join(words, " "))
		}
		if ctx, ok = m.index[ngramKey{ctx, id}]; !ok {
			return p.errorf("%q has no %d-gram %q for its context", strings.Join(words, " "), i+1, strings.Join(words[:i+1], " "))
		}
	}
	w, ok := m.vocab[words[n-1]]
	if !ok {
		return p.errorf("word %q of %q is not among the unigrams", words[n-1], strings.Join(words, " "))
	}
	key := ngramKey{ctx, w}
	if _, dup := m.index[key]; dup {
		return p.errorf("%d-gram %q is listed twice", n, strings.Join(words, " "))
	}
	if len(m.entries) >= math.MaxInt32 {
		return p.errorf("too many n-grams")
	}
	e := int32(len(m.entries))
	m.entries = append(m.entries, ngram{log10: lp, backoff: bo, suffix: m.longestSuffix(ctx, w), order: int32(n)})
	m.index[key] = e
	return nil
}

// longestSuffix returns the entry of the longest proper suffix of the n-gram
// (ctx, w) that the model lists: (suffix of ctx, w) if listed, else shorter.
// Entries are added lowest order first, so all suffixes are already known.
func (m *NGramLM) longestSuffix(ctx, w int32) int32 {
	if ctx == 0 {
		return 0
	}
	for c := m.entries[ctx].suffix; ; c = m.entries[c].suffix {
		if e, ok := m.index[ngramKey{c, w}]; ok {
			return e
		}
		if c == 0 {
			return 0
		}
	}
}

// finish checks the special words and adds <unk> if it is missing.
func (p *arpaReader) finish() error {
	m := p.m
	bos, ok := m.vocab["<s>"]
	if !ok {
		return &ARPAError{File: p.file, Err: errors.New("no <s> unigram")}
	}
	if m.eos, ok = m.vocab["</s>"]; !ok {
		return &ARPAError{File: p.file, Err: errors.New("no </s> unigram")}
	}
	if m.unk, ok = m.vocab["<unk>"]; !ok {
		m.unk = int32(len(m.vocab))
		m.vocab["<unk>"] = m.unk
		m.index[ngramKey{0, m.unk}] = int32(len(m.entries))
		m.entries = append(m.entries, ngram{log10: unkLog10, order: 1})
	}
	m.bos = State(m.index[ngramKey{0, bos}])
	return nil
}

package dataset

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Special symbols of the default vocabulary.
const (
	BlankSymbol  = "<blank>" // CTC blank, always index 0
	WordBoundary = "|"       // word boundary in .ltr labels
)

// Vocab maps label symbols to output indices: the CTC blank at 0, then the
// symbols in order. A Vocab is read-only after it is made and safe to share.
type Vocab struct {
	symbols []string // symbols[0] is the blank
	index   map[string]int
}

// dictFormat describes a dict file in error messages.
const dictFormat = `one "SYMBOL COUNT" per line, as fairseq's dict.ltr.txt (e.g. "E 51860")`

// NewVocab returns a vocabulary of the blank followed by symbols. A symbol
// must be non-empty, free of white space, not the blank's name and not
// repeated.
func NewVocab(symbols []string) (*Vocab, error) {
	v := &Vocab{symbols: []string{BlankSymbol}, index: map[string]int{BlankSymbol: 0}}
	for _, s := range symbols {
		if err := v.add(s); err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
	}
	return v, nil
}

func (v *Vocab) add(s string) error {
	switch {
	case s == "" || strings.ContainsAny(s, " \t\r\n"):
		return fmt.Errorf("vocabulary symbol %q is empty or holds white space", s)
	case v.index[s] != 0 || s == BlankSymbol:
		return fmt.Errorf("vocabulary symbol %q appears twice", s)
	}
	v.index[s] = len(v.symbols)
	v.symbols = append(v.symbols, s)
	return nil
}

// DefaultVocab returns the English letter vocabulary: blank, "|", "'", A-Z
// (29 entries).
func DefaultVocab() *Vocab {
	syms := []string{WordBoundary, "'"}
	for r := 'A'; r <= 'Z'; r++ {
		syms = append(syms, string(r))
	}
	v, err := NewVocab(syms)
	if err != nil {
		panic(err) // the list above is fixed
	}
	return v
}

// ReadDict reads a fairseq dictionary file (dict.ltr.txt): one
// "SYMBOL COUNT" per line, optionally followed by "#fairseq:overwrite". The
// vocabulary is the blank followed by the symbols in file order; the counts
// are checked but not kept. Blank lines are skipped.
func ReadDict(path string) (*Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: dictionary: %w (want %s)", err, dictFormat)
	}
	defer f.Close() // read-only
	return ParseDict(f, path)
}

// ParseDict reads a dictionary from r; name is used in messages.
func ParseDict(r io.Reader, name string) (*Vocab, error) {
	v, _ := NewVocab(nil)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) == 3 && f[2] == "#fairseq:overwrite" {
			f = f[:2]
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("dataset: %s line %d: want %s, got %q", name, line, dictFormat, sc.Text())
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return nil, fmt.Errorf("dataset: %s line %d: count %q is not an integer: want %s", name, line, f[1], dictFormat)
		}
		if err := v.add(f[0]); err != nil {
			return nil, fmt.Errorf("dataset: %s line %d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: %s line %d: %w", name, line+1, err)
	}
	if v.Size() == 1 {
		return nil, fmt.Errorf("dataset: %s has no symbols: want %s", name, dictFormat)
	}
	return v, nil
}

// WriteDict writes the vocabulary's symbols (without the blank) in
// dict.ltr.txt format, each with count 1, so ReadDict gives v back.
func (v *Vocab) WriteDict(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, s := range v.symbols[1:] {
		fmt.Fprintf(bw, "%s 1\n", s)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dataset: writing dictionary: %w", err)
	}
	return nil
}

// Size returns the number of outputs, the blank included.
func (v *Vocab) Size() int { return len(v.symbols) }

// Blank returns the blank's index, 0.
func (v *Vocab) Blank() int { return 0 }

// Index returns the index of sym.
func (v *Vocab) Index(sym string) (int, bool) {
	i, ok := v.index[sym]
	return i, ok
}

// Symbol returns the symbol at index i, or "<unk:i>" when i is out of range.
func (v *Vocab) Symbol(i int) string {
	if i < 0 || i >= len(v.symbols) {
		return fmt.Sprintf("<unk:%d>", i)
	}
	return v.symbols[i]
}

// Symbols returns a copy of the symbols in index order, the blank first.
func (v *Vocab) Symbols() []string { return append([]string(nil), v.symbols...) }

// Encode maps a .ltr line (symbols separated by white space) to indices. An
// unknown symbol is an error that names it and its position.
func (v *Vocab) Encode(ltr string) ([]int, error) {
	ids, err := v.encode(ltr)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return ids, nil
}

func (v *Vocab) encode(ltr string) ([]int, error) {
	toks := strings.Fields(ltr)
	ids := make([]int, len(toks))
	for i, t := range toks {
		id, ok := v.index[t]
		if !ok || id == 0 {
			return nil, fmt.Errorf("symbol %q (token %d) is not in the vocabulary", t, i+1)
		}
		ids[i] = id
	}
	return ids, nil
}

// EncodeAll encodes one .ltr line per utterance; name (the label file) and
// the line number go into any error.
func (v *Vocab) EncodeAll(lines []string, name string) ([][]int, error) {
	out := make([][]int, len(lines))
	for i, l := range lines {
		ids, err := v.encode(l)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s line %d: %w", name, i+1, err)
		}
		out[i] = ids
	}
	return out, nil
}

// Decode maps indices to their symbols joined by spaces, one for one (the
// .ltr format when ids hold no blank): it does not collapse CTC repeats or
// drop blanks.
func (v *Vocab) Decode(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = v.Symbol(id)
	}
	return strings.Join(s, " ")
}

// VocabFromLabels returns the vocabulary of the symbols that .ltr lines
// use, the most frequent first (ties in string order), as fairseq's
// dict.ltr.txt lists them; the word boundary is always in it.
func VocabFromLabels(lines []string) (*Vocab, error) {
	counts := map[string]int{WordBoundary: 0}
	for _, l := range lines {
		for _, t := range strings.Fields(l) {
			counts[t]++
		}
	}
	syms := make([]string, 0, len(counts))
	for s := range counts {
		syms = append(syms, s)
	}
	slices.SortFunc(syms, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return NewVocab(syms)
}

// Covers reports whether every symbol of the .ltr lines is in v.
func (v *Vocab) Covers(lines []string) bool {
	for _, l := range lines {
		for _, t := range strings.Fields(l) {
			if v.index[t] == 0 {
				return false
			}
		}
	}
	return true
}

package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/dataset"
)

func runLM(e *env, args []string) int {
	fs := newFlags(e, "lm", "--out FILE.arpa [--order N] TEXT...")
	out := fs.String("out", "", "ARPA file to write (required)")
	order := fs.Int("order", 3, "n-gram order")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *out == "":
		return usageErr(e, fs, "--out is required")
	case *order < 1 || *order > 10:
		return usageErr(e, fs, "--order must be 1 to 10")
	case fs.NArg() == 0:
		return usageErr(e, fs, "name at least one text file: one sentence per line, as a .wrd file holds")
	}
	b, err := lm.NewNGramBuilder(*order)
	if err != nil {
		return fail(e, err)
	}
	sentences, words := 0, 0
	for _, path := range fs.Args() {
		n, w, err := addText(b, path)
		if err != nil {
			return fail(e, err)
		}
		sentences, words = sentences+n, words+w
	}
	if sentences == 0 {
		return fail(e, fmt.Errorf("%s: no sentences", strings.Join(fs.Args(), ", ")))
	}
	if err := writeFileAtomic(*out, b.WriteARPA); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stderr, "wav2vec: %d-gram model of %d sentences, %d words: wrote %s\n", *order, sentences, words, *out)
	return exitOK
}

// addText adds each non-empty line of the file, normalised to the default
// alphabet's words as the recogniser spells them, to b.
func addText(b *lm.NGramBuilder, path string) (sentences, words int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		ws := strings.Fields(dataset.NormalizeText(sc.Text()))
		if len(ws) == 0 {
			continue
		}
		if err := b.Add(ws); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		sentences, words = sentences+1, words+len(ws)
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return sentences, words, nil
}

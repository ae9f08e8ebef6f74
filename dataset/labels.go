package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"
)

// ltrFormat and wrdFormat describe the label formats in error messages.
const (
	ltrFormat = `one line per manifest row, in the same order: letters separated by spaces, words by " | ", ending " |" (e.g. "H E L L O | W O R L D |")`
	wrdFormat = `one line per manifest row, in the same order: the words separated by spaces (e.g. "HELLO WORLD")`
)

// LabelPath returns the label file beside a manifest: NAME.tsv -> NAME.ext.
func LabelPath(manifestPath, ext string) string {
	return strings.TrimSuffix(manifestPath, ".tsv") + "." + strings.TrimPrefix(ext, ".")
}

// ReadLabels reads the labels beside the manifest at manifestPath: NAME.ltr
// or NAME.wrd for ext "ltr" or "wrd" (any other extension is read as plain
// lines). The file must have exactly one line per manifest row. For "ltr"
// every token must be a single letter, which catches a .wrd file given in
// place of a .ltr one. Errors say which file is missing or wrong and what the
// format should be.
func ReadLabels(manifestPath, ext string) ([]string, error) {
	ext = strings.TrimPrefix(ext, ".")
	m, err := ReadManifest(manifestPath)
	if err != nil {
		return nil, err
	}
	path := LabelPath(manifestPath, ext)
	format := wrdFormat
	if ext == "ltr" {
		format = ltrFormat
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		hint := ""
		if ext == "ltr" {
			hint = "; make it from NAME.wrd, one line each, with dataset.WordsToLetters (as fairseq's libri_labels.py does)"
		}
		return nil, fmt.Errorf("dataset: labels for %s: %s does not exist: want %s%s: %w", manifestPath, path, format, hint, err)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: labels for %s: %w", manifestPath, err)
	}
	defer f.Close() // read-only
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if ext == "ltr" {
			for _, tok := range strings.Fields(line) {
				if utf8.RuneCountInString(tok) != 1 {
					return nil, fmt.Errorf("dataset: %s line %d: %q is not a single letter: want %s", path, len(lines)+1, tok, format)
				}
			}
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: %s line %d: %w", path, len(lines)+1, err)
	}
	if len(lines) != len(m.Entries) {
		return nil, fmt.Errorf("dataset: %s has %d lines but manifest %s has %d rows: want %s",
			path, len(lines), manifestPath, len(m.Entries), format)
	}
	return lines, nil
}

// WriteLabels writes one label per line to the file beside the manifest at
// manifestPath (NAME.ext), atomically. A label holding a line break is an
// error: it would shift every later row.
func WriteLabels(manifestPath, ext string, labels []string) error {
	path := LabelPath(manifestPath, ext)
	for i, l := range labels {
		if strings.ContainsAny(l, "\n\r") {
			return fmt.Errorf("dataset: %s: label %d holds a line break", path, i+1)
		}
	}
	return writeAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, l := range labels {
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
}

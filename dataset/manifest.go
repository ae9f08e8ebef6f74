package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
)

// Entry is one manifest row: a path relative to the manifest's root (with
// forward slashes) and the file's length in samples at its own rate.
type Entry struct {
	Path    string
	Samples int64
}

// Manifest is a fairseq-style list of audio files under one root folder.
type Manifest struct {
	Root    string
	Entries []Entry
	Name    string // the file it was read from, for messages; empty if built in memory
}

// manifestFormat is how error messages describe a manifest line.
const manifestFormat = `"relative/path.wav<TAB>num_samples"`

// ReadManifest reads the manifest file at path.
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: manifest: %w", err)
	}
	defer f.Close() // read-only
	return ParseManifest(f, path)
}

// ParseManifest reads a manifest from r; name is used in messages and kept
// in the result's Name. Every format problem is an error that names the
// manifest, the line number and what the line should look like.
func ParseManifest(r io.Reader, name string) (*Manifest, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	m := &Manifest{Name: name}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			if strings.TrimSpace(text) == "" || strings.Contains(text, "\t") {
				return nil, fmt.Errorf("dataset: %s line 1: want the root folder of the audio files, got %q", name, text)
			}
			m.Root = text
			continue
		}
		if text == "" {
			continue // a blank line, usually the last one
		}
		e, err := parseEntry(text)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s line %d: %w", name, line, err)
		}
		m.Entries = append(m.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dataset: %s line %d: %w", name, line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("dataset: %s is empty: the first line must be the root folder, then one %s line per file", name, manifestFormat)
	}
	return m, nil
}

func parseEntry(text string) (Entry, error) {
	path, count, ok := strings.Cut(text, "\t")
	if !ok || path == "" || strings.Contains(count, "\t") {
		return Entry{}, fmt.Errorf("want %s, got %q", manifestFormat, text)
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || n < 0 {
		return Entry{}, fmt.Errorf("sample count %q is not a non-negative integer (want %s)", count, manifestFormat)
	}
	return Entry{Path: path, Samples: n}, nil
}

// Line returns the manifest line number (1-based) of entry i.
func (m *Manifest) Line(i int) int { return i + 2 }

// FullPath returns the file path of entry i: the root joined with the
// entry's path (an absolute entry path is returned as is).
func (m *Manifest) FullPath(i int) string {
	p := filepath.FromSlash(m.Entries[i].Path)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(m.Root, p)
}

// Seconds returns the total length of the manifest's audio, counting its
// sample counts at 16 kHz (the rate fairseq's sizes assume).
func (m *Manifest) Seconds() float64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Samples
	}
	return float64(n) / audio.SampleRate
}

// Write writes m in manifest format.
func (m *Manifest) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, m.Root)
	for _, e := range m.Entries {
		fmt.Fprintf(bw, "%s\t%d\n", e.Path, e.Samples)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dataset: writing manifest: %w", err)
	}
	return nil
}

// WriteManifestFile writes m to path atomically: to a temporary file in the
// same folder, synced, then renamed over path.
func WriteManifestFile(path string, m *Manifest) error {
	return writeAtomic(path, m.Write)
}

// writeAtomic writes a file through write into a temporary file and renames
// it over path, so path never holds a partial file.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, func(f *os.File) error { return write(f) }); err != nil {
		return fmt.Errorf("dataset: %s: %w", path, err)
	}
	return nil
}

// CountError reports a manifest row whose sample count differs from the
// frame count in its file's header. A Loader uses the file's count.
type CountError struct {
	Manifest string // the manifest's Name
	Line     int    // 1-based line of the row
	Path     string // the row's path, as the manifest gives it
	Listed   int64  // the manifest's count
	Actual   int64  // the frame count in the file's header
}

func (e *CountError) Error() string {
	return fmt.Sprintf("dataset: %s line %d: %s: manifest says %d samples, the file has %d",
		e.Manifest, e.Line, e.Path, e.Listed, e.Actual)
}

// headerWorkers is how many file headers readHeaders reads at once (on a
// network file system most of the time is spent waiting).
const headerWorkers = 8

// readHeaders reads the WAV header of every entry's file, and nothing past
// it, a few files at a time. For each row it returns the file's frame count
// at its own rate (the manifest's count when the header does not give one,
// as in a streamed WAV), and a *CountError when that differs from the
// manifest's, or an error naming the manifest, the line and the file when
// the file is missing or its header unreadable.
func (m *Manifest) readHeaders() (frames []int64, errs []error) {
	n := len(m.Entries)
	frames, errs = make([]int64, n), make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(headerWorkers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				frames[i], errs[i] = m.readHeader(i)
			}
		})
	}
	wg.Wait()
	return frames, errs
}

// readHeader is readHeaders for row i.
func (m *Manifest) readHeader(i int) (int64, error) {
	e := m.Entries[i]
	f, err := audio.ReadFileConfig(m.FullPath(i))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0, fmt.Errorf("dataset: %s line %d: %s: file does not exist (root %q): %w", m.Name, m.Line(i), e.Path, m.Root, err)
	case err != nil:
		return 0, fmt.Errorf("dataset: %s line %d: %s: %w", m.Name, m.Line(i), e.Path, err)
	case f.Frames < 0:
		return e.Samples, nil
	case f.Frames != e.Samples:
		return f.Frames, &CountError{Manifest: m.Name, Line: m.Line(i), Path: e.Path, Listed: e.Samples, Actual: f.Frames}
	}
	return f.Frames, nil
}

// Verify checks that every entry's file exists, has a readable header and
// holds the stated number of samples (frames at its own rate), reading
// only the headers. It returns all problems joined, each naming the
// manifest, the line and the file; a wrong count is a *CountError.
func (m *Manifest) Verify() error {
	_, errs := m.readHeaders()
	return errors.Join(errs...)
}

package train

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
)

// runFiles are the files of a run's folder that are written through a
// temporary file beside them (nn.SaveCheckpoint, OpenMetrics): a run that
// is killed mid-write leaves ".NAME.tmpDIGITS" behind (os.CreateTemp's
// pattern "."+NAME+".tmp*").
var runFiles = []string{LastFile, BestFile, MetricsFile}

// TempFile is a leftover temporary file that RemoveTemps removed.
type TempFile struct {
	Name string // base name, such as .checkpoint_last.safetensors.tmp123456789
	Size int64  // bytes
}

// Temps is what RemoveTemps removed.
type Temps []TempFile

// Bytes returns the total size of the files.
func (t Temps) Bytes() int64 {
	var n int64
	for _, f := range t {
		n += f.Size
	}
	return n
}

// String describes the files for a log line:
// "2 files, 30.0 MB (.checkpoint_last.safetensors.tmp1 28.0 MB, ...)".
func (t Temps) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d file", len(t))
	if len(t) != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, ", %s (", size(t.Bytes()))
	for i, f := range t {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", f.Name, size(f.Size))
	}
	b.WriteString(")")
	return b.String()
}

// size prints n bytes for a log line: "28.3 MB", "512.0 kB", "17 bytes".
func size(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// isTemp reports whether name is a temporary file of one of runFiles.
func isTemp(name string) bool {
	for _, f := range runFiles {
		if atomicfile.IsTemp(name, f) {
			return true
		}
	}
	return false
}

// RemoveTemps removes from a run's folder the temporary files that a run
// killed while writing checkpoint_last, checkpoint_best or metrics.jsonl
// left behind, and returns them. Only those names are touched: the
// checkpoints, the log and any other file stay. A trainer calls it when a
// run starts or resumes, before it writes anything; a folder that does not
// exist yet holds none. A file that cannot be removed is reported in the
// error, and the others are still removed.
func RemoveTemps(dir string) (Temps, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var removed Temps
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTemp(e.Name()) {
			continue
		}
		var n int64
		if info, err := e.Info(); err == nil {
			n = info.Size()
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("train: removing a leftover temporary file: %w", err))
			}
			continue
		}
		removed = append(removed, TempFile{Name: e.Name(), Size: n})
	}
	return removed, errors.Join(errs...)
}

// Clean removes the temporary files a killed run left in dir, as
// RemoveTemps does, and logs what it removed. A file it cannot remove is
// only a warning: the run can go on.
func Clean(dir string, log *slog.Logger) {
	removed, err := RemoveTemps(dir)
	if len(removed) > 0 {
		log.Info("removed the temporary files an interrupted run left", "dir", dir,
			"files", len(removed), "bytes", removed.Bytes(), "removed", removed.String())
	}
	if err != nil {
		log.Warn(err.Error())
	}
}

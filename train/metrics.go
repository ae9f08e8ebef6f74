package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
)

// MetricsFile is the name of the metrics log inside a run's folder.
const MetricsFile = "metrics.jsonl"

// Metrics appends one JSON object per line to DIR/metrics.jsonl.
type Metrics struct {
	path string
	f    *os.File
}

// OpenMetrics opens DIR/metrics.jsonl for appending, creating DIR if needed.
// With resumeStep <= 0 (a fresh run) an existing log is emptied. Otherwise
// the lines whose "step" is greater than resumeStep are dropped first (they
// were written after the checkpoint the run resumes from), as are lines
// that do not parse, such as a line cut short by a crash; the file is
// rewritten atomically.
func OpenMetrics(dir string, resumeStep int) (*Metrics, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: metrics: %w", err)
	}
	path := filepath.Join(dir, MetricsFile)
	var keep []byte
	if resumeStep > 0 {
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("train: metrics %s: %w", path, err)
		}
		keep = linesUpTo(old, resumeStep)
	}
	if err := writeAtomic(path, keep); err != nil {
		return nil, fmt.Errorf("train: metrics %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: metrics: %w", err)
	}
	return &Metrics{path: path, f: f}, nil
}

// linesUpTo returns the complete, parseable lines of data whose "step" is at
// most step. Lines without a step are kept.
func linesUpTo(data []byte, step int) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var v struct {
			Step *float64 `json:"step"`
		}
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &v) != nil {
			continue
		}
		if v.Step != nil && *v.Step > float64(step) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// writeAtomic replaces path with data through a synced temporary file.
func writeAtomic(path string, data []byte) error {
	return atomicfile.Write(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// Path returns the file the metrics go to.
func (m *Metrics) Path() string { return m.path }

// Write appends v as one line of JSON (keys in sorted order). Non-finite
// float values, which JSON cannot hold, are written as the strings "NaN",
// "+Inf" and "-Inf", so a skipped update still shows in the log. A nil
// *Metrics (the ranks of a data-parallel run other than 0) writes nothing.
func (m *Metrics) Write(v map[string]any) error {
	if m == nil {
		return nil
	}
	clean := make(map[string]any, len(v))
	for k, x := range v {
		clean[k] = jsonSafe(x)
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return fmt.Errorf("train: metrics %s: %w", m.path, err)
	}
	b = append(b, '\n')
	if _, err := m.f.Write(b); err != nil {
		return fmt.Errorf("train: metrics %s: %w", m.path, err)
	}
	return nil
}

func jsonSafe(x any) any {
	var f float64
	switch v := x.(type) {
	case float64:
		f = v
	case float32:
		f = float64(v)
	default:
		return x
	}
	if Finite(f) {
		return x
	}
	return formatValue(f)
}

// Close syncs and closes the file.
func (m *Metrics) Close() error {
	if m == nil || m.f == nil {
		return nil
	}
	err := m.f.Sync()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	m.f = nil
	if err != nil {
		return fmt.Errorf("train: metrics %s: %w", m.path, err)
	}
	return nil
}

// Finite reports whether x is neither NaN nor infinite.
func Finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

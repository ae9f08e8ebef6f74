package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wav2vec-go/wav2vec/nn"
)

// Checkpoint file names inside a run's folder.
const (
	LastFile = "checkpoint_last.safetensors"
	BestFile = "checkpoint_best.safetensors"
)

// MetaBestScore is the metadata key under which SaveBest records the score
// of the best checkpoint.
const MetaBestScore = "best_score"

// LastPath returns the path of the latest checkpoint in dir.
func LastPath(dir string) string { return filepath.Join(dir, LastFile) }

// BestPath returns the path of the best checkpoint in dir.
func BestPath(dir string) string { return filepath.Join(dir, BestFile) }

// Saver writes a run's checkpoints: checkpoint_last every Every (and
// whenever the trainer asks, such as at the end or on Ctrl-C), and
// checkpoint_best whenever the validation score improves (lower is better).
// Files are written atomically by nn.SaveCheckpoint.
type Saver struct {
	dir   string
	every time.Duration
	now   func() time.Time
	last  time.Time
	best  float64
}

// NewSaver returns a Saver for dir that is due every interval (10 minutes
// if every <= 0). The best score starts at +Inf; a resumed run restores it
// with SetBest or LoadBest.
func NewSaver(dir string, every time.Duration) *Saver {
	if every <= 0 {
		every = 10 * time.Minute
	}
	s := &Saver{dir: dir, every: every, now: time.Now, best: math.Inf(1)}
	s.last = s.now()
	return s
}

// Due reports whether Every has passed since the last SaveLast (or since
// NewSaver).
func (s *Saver) Due() bool { return s.now().Sub(s.last) >= s.every }

// Best returns the best score saved so far (+Inf if none).
func (s *Saver) Best() float64 { return s.best }

// SetBest sets the score a new best checkpoint must beat.
func (s *Saver) SetBest(score float64) { s.best = score }

// LoadBest reads the score of an existing checkpoint_best in the folder, so
// a resumed run does not overwrite it with a worse one. A missing file is
// not an error.
func (s *Saver) LoadBest() error {
	path := BestPath(s.dir)
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("train: %w", err)
	}
	c, err := nn.LoadCheckpoint(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	v, ok := c.Meta[MetaBestScore]
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("train: %s: metadata %q: %w", path, MetaBestScore, err)
	}
	s.best = f
	return nil
}

// SaveLast writes checkpoint_last and restarts the Due timer.
func (s *Saver) SaveLast(params []*nn.Param, extra map[string][]float32, meta map[string]string) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := nn.SaveCheckpoint(LastPath(s.dir), params, extra, meta); err != nil {
		return err
	}
	s.last = s.now()
	return nil
}

// SaveBest writes checkpoint_best if score is finite and lower than the best
// so far, recording the score in the metadata, and reports whether it did.
func (s *Saver) SaveBest(score float64, params []*nn.Param, extra map[string][]float32, meta map[string]string) (bool, error) {
	if !Finite(score) || score >= s.best {
		return false, nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return false, fmt.Errorf("train: %w", err)
	}
	m := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		m[k] = v
	}
	m[MetaBestScore] = strconv.FormatFloat(score, 'g', -1, 64)
	if err := nn.SaveCheckpoint(BestPath(s.dir), params, extra, m); err != nil {
		return false, err
	}
	s.best = score
	return true, nil
}

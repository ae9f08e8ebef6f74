package dataset

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/internal/seed"
)

// Mode chooses how a Loader makes utterances of different lengths into one
// rectangular batch.
type Mode int

const (
	// Pretrain crops every utterance of a batch at a random offset to one
	// length, min(MaxSamples, the shortest in the batch), as fairseq does
	// for unlabeled audio: no padding.
	Pretrain Mode = iota
	// Finetune keeps utterances whole and pads them with zeros to the
	// longest in the batch, with lengths and a padding mask.
	Finetune
)

// LoaderConfig sets up a Loader. The zero value means the defaults listed on
// each field.
type LoaderConfig struct {
	Mode Mode
	// MaxBatchSeconds bounds a batch's padded size, B x T samples, in seconds
	// at 16 kHz; 0 means 87.5 s (fairseq's max_tokens 1,400,000). A single
	// utterance longer than that makes a batch of its own.
	MaxBatchSeconds float64
	// MaxSamples is the crop length in Pretrain mode (0 means 250,000, as
	// fairseq's max_sample_size); in Finetune mode longer utterances are
	// skipped (0 means no limit), since cropping would cut their labels.
	MaxSamples int
	// MinSamples: shorter utterances are skipped; 0 means 640 (40 ms), below
	// which the feature encoder gives too few frames.
	MinSamples int
	// Shuffle orders each epoch as fairseq does: utterances sorted by length
	// (ties in random order), cut into batches, batches shuffled. Without it
	// batches follow the manifest order.
	Shuffle bool
	// Seed fixes the order and the crops, together with the epoch number.
	Seed uint64
	// Prefetch is how many batches are read ahead; 0 means 2.
	Prefetch int
	// Warn is told once per row about each skipped utterance, from
	// NewLoader, the loader's goroutine or Skip; nil means slog's default
	// logger.
	Warn func(path string, err error)
	// Mismatch is told, from NewLoader, about each row whose sample count
	// differs from its file's header; the row is kept with the file's
	// count. nil means slog's default logger.
	Mismatch func(err *CountError)
	// NoNormalize gives the samples as the files hold them, for models
	// that take them so (published ones whose preprocessor says
	// do_normalize false); otherwise each utterance is normalised to zero
	// mean and unit variance.
	NoNormalize bool
}

func (c LoaderConfig) withDefaults() LoaderConfig {
	if c.MaxBatchSeconds == 0 {
		c.MaxBatchSeconds = 1_400_000.0 / audio.SampleRate
	}
	if c.MaxSamples == 0 && c.Mode == Pretrain {
		c.MaxSamples = 250_000
	}
	if c.MinSamples == 0 {
		c.MinSamples = 640
	}
	if c.Prefetch == 0 {
		c.Prefetch = 2
	}
	if c.Warn == nil {
		c.Warn = func(path string, err error) { slog.Warn("dataset: skipping utterance", "file", path, "err", err) }
	}
	if c.Mismatch == nil {
		c.Mismatch = func(err *CountError) { slog.Warn(err.Error()) }
	}
	return c
}

// Validate reports every problem with c at once.
func (c LoaderConfig) Validate() error {
	d := c.withDefaults()
	var errs []error
	if d.Mode != Pretrain && d.Mode != Finetune {
		errs = append(errs, fmt.Errorf("dataset: unknown loader mode %d", d.Mode))
	}
	if !(d.MaxBatchSeconds > 0) || math.IsInf(d.MaxBatchSeconds, 0) {
		errs = append(errs, fmt.Errorf("dataset: MaxBatchSeconds %g must be positive", d.MaxBatchSeconds))
	}
	if d.MinSamples < 1 {
		errs = append(errs, fmt.Errorf("dataset: MinSamples %d must be positive", d.MinSamples))
	}
	if d.MaxSamples < 0 || (d.MaxSamples > 0 && d.MaxSamples < d.MinSamples) {
		errs = append(errs, fmt.Errorf("dataset: MaxSamples %d must be 0 or at least MinSamples %d", d.MaxSamples, d.MinSamples))
	}
	if d.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("dataset: Prefetch %d is negative", d.Prefetch))
	}
	return errors.Join(errs...)
}

// Utterance is one normalised utterance of a manifest.
type Utterance struct {
	Index   int       // manifest row
	Samples []float32 // 16 kHz, zero mean, unit variance
	Label   []int     // nil without labels
}

// Batch is B utterances as one row-major B x T array.
type Batch struct {
	Epoch, Position int       // the batch's place in the epoch's plan: resume at Position+1
	B, T            int       // rows and samples per row
	Audio           []float32 // B x T, zero padded
	Lengths         []int     // B: real samples per row
	Padding         []bool    // B x T: true where Audio is padding (fairseq's padding_mask)
	Labels          [][]int   // B label index sequences; nil without labels
	Indices         []int     // B manifest rows
}

// Loader turns a manifest (and optionally its encoded labels) into batches.
// Its methods are safe for concurrent use.
type Loader struct {
	m      *Manifest
	labels [][]int
	cfg    LoaderConfig
	sizes  []int64 // per row: frames at the file's own rate, from its header
	usable []int   // manifest rows that pass the size limits, in manifest order

	mu      sync.Mutex
	skipped map[int]bool // rows skipped (and reported) so far
}

// NewLoader checks cfg and the labels (one per manifest row, or nil), reads
// the header of every row's file (headers only: no samples are decoded)
// and reports through cfg.Warn each row whose file is missing or
// unreadable, or whose length is outside the limits; such rows are never
// read. A row whose manifest count differs from its file's header is
// reported through cfg.Mismatch and kept: the file's count is used, for
// the limits and the batching alike.
func NewLoader(m *Manifest, labels [][]int, cfg LoaderConfig) (*Loader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if labels != nil && len(labels) != len(m.Entries) {
		return nil, fmt.Errorf("dataset: %d labels for manifest %s with %d rows: want one label per row",
			len(labels), m.Name, len(m.Entries))
	}
	l := &Loader{m: m, labels: labels, cfg: cfg.withDefaults(), skipped: map[int]bool{}}
	sizes, errs := m.readHeaders()
	l.sizes = sizes
	for i, err := range errs {
		var ce *CountError
		if errors.As(err, &ce) {
			l.cfg.Mismatch(ce)
		} else if err != nil {
			l.Skip(i, err)
			continue
		}
		if err := l.checkLength(sizes[i]); err != nil {
			l.Skip(i, fmt.Errorf("dataset: %s line %d: %s: %w", m.Name, m.Line(i), m.Entries[i].Path, err))
			continue
		}
		l.usable = append(l.usable, i)
	}
	return l, nil
}

// checkLength says why an utterance of n samples cannot be used, if so.
func (l *Loader) checkLength(n int64) error {
	if n < int64(l.cfg.MinSamples) {
		return fmt.Errorf("%d samples is shorter than the minimum %d", n, l.cfg.MinSamples)
	}
	if l.cfg.Mode == Finetune && l.cfg.MaxSamples > 0 && n > int64(l.cfg.MaxSamples) {
		return fmt.Errorf("%d samples is longer than the maximum %d", n, l.cfg.MaxSamples)
	}
	return nil
}

// Skip records that row i is left out because of err and reports it
// through Warn, once per row: the loader calls it for the rows it cannot
// use, and a trainer for a row it leaves out of a batch (such as one whose
// label is longer than its audio allows). It panics if i is not a row of
// the manifest.
func (l *Loader) Skip(i int, err error) {
	path := l.m.FullPath(i)
	l.mu.Lock()
	seen := l.skipped[i]
	l.skipped[i] = true
	l.mu.Unlock()
	if !seen {
		l.cfg.Warn(path, err)
	}
}

// Skipped returns the rows skipped so far, each once, in increasing order:
// its length is the number of utterances left out.
func (l *Loader) Skipped() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	rows := make([]int, 0, len(l.skipped))
	for i := range l.skipped {
		rows = append(rows, i)
	}
	slices.Sort(rows)
	return rows
}

// MarkSkipped adds rows to Skipped without reporting them: a resumed run
// restores the rows skipped before it stopped, so that none is counted
// twice. Rows outside the manifest are ignored.
func (l *Loader) MarkSkipped(rows []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, i := range rows {
		if i >= 0 && i < len(l.m.Entries) {
			l.skipped[i] = true
		}
	}
}

// Load reads row i of the manifest: its audio at 16 kHz, normalised
// (unless NoNormalize), and its label. A file outside the length limits is an error.
func (l *Loader) Load(i int) (Utterance, error) {
	if i < 0 || i >= len(l.m.Entries) {
		return Utterance{}, fmt.Errorf("dataset: %s has no row %d", l.m.Name, i)
	}
	x, err := audio.ReadFile(l.m.FullPath(i))
	if err != nil {
		return Utterance{}, fmt.Errorf("dataset: %s line %d: %w", l.m.Name, l.m.Line(i), err)
	}
	if err := l.checkLength(int64(len(x))); err != nil {
		return Utterance{}, fmt.Errorf("dataset: %s line %d: %s: %w", l.m.Name, l.m.Line(i), l.m.Entries[i].Path, err)
	}
	if !l.cfg.NoNormalize {
		audio.Normalize(x)
	}
	u := Utterance{Index: i, Samples: x}
	if l.labels != nil {
		u.Label = l.labels[i]
	}
	return u, nil
}

// Len returns the number of rows of the manifest.
func (l *Loader) Len() int { return len(l.m.Entries) }

// Path returns the file of row i of the manifest.
func (l *Loader) Path(i int) string { return l.m.FullPath(i) }

// cost is the number of samples an utterance takes in a batch.
func (l *Loader) cost(i int) int64 {
	n := l.sizes[i]
	if l.cfg.Mode == Pretrain {
		n = min(n, int64(l.cfg.MaxSamples))
	}
	return n
}

// Plan returns the epoch's batches as lists of manifest rows, from the
// files' sizes. It depends only on the manifest, the lengths in the files'
// headers, the config and epoch.
func (l *Loader) Plan(epoch int) [][]int {
	order := slices.Clone(l.usable)
	var rng *rand.Rand
	if l.cfg.Shuffle {
		rng = rand.New(rand.NewPCG(l.cfg.Seed, mix(uint64(epoch), 0)))
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(l.cost(a), l.cost(b)) })
	}
	budget := int64(l.cfg.MaxBatchSeconds * audio.SampleRate)
	var plan [][]int
	var cur []int
	var longest int64
	for _, i := range order {
		c := l.cost(i)
		if len(cur) > 0 && int64(len(cur)+1)*max(longest, c) > budget {
			plan = append(plan, cur)
			cur, longest = nil, 0
		}
		cur = append(cur, i)
		longest = max(longest, c)
	}
	if len(cur) > 0 {
		plan = append(plan, cur)
	}
	if rng != nil {
		rng.Shuffle(len(plan), func(a, b int) { plan[a], plan[b] = plan[b], plan[a] })
	}
	return plan
}

// NumBatches returns the number of batches in the epoch's plan.
func (l *Loader) NumBatches(epoch int) int { return len(l.Plan(epoch)) }

// Stream reads the epoch's batches from position start on in a background
// goroutine and sends them in plan order. The channel is closed after the
// last batch or when ctx is done: cancel ctx to stop early. Utterances that
// cannot be read are reported through Warn and left out; a batch left empty
// is not sent.
func (l *Loader) Stream(ctx context.Context, epoch, start int) <-chan *Batch {
	plan := l.Plan(epoch)
	ch := make(chan *Batch, l.cfg.Prefetch)
	go func() {
		defer close(ch)
		for p := max(start, 0); p < len(plan); p++ {
			if ctx.Err() != nil {
				return
			}
			b := l.batch(epoch, p, plan[p])
			if b == nil {
				continue
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// batch reads and assembles plan entry p of the epoch; nil if none of its
// utterances could be read.
func (l *Loader) batch(epoch, p int, rows []int) *Batch {
	var us []Utterance
	for _, i := range rows {
		u, err := l.Load(i)
		if err != nil {
			l.Skip(i, err)
			continue
		}
		us = append(us, u)
	}
	if len(us) == 0 {
		return nil
	}
	b := &Batch{Epoch: epoch, Position: p, B: len(us)}
	if l.cfg.Mode == Pretrain {
		b.T = l.cfg.MaxSamples
		for _, u := range us {
			b.T = min(b.T, len(u.Samples))
		}
	} else {
		for _, u := range us {
			b.T = max(b.T, len(u.Samples))
		}
	}
	rng := rand.New(rand.NewPCG(l.cfg.Seed, mix(uint64(epoch), uint64(p)+1)))
	b.Audio = make([]float32, b.B*b.T)
	b.Padding = make([]bool, b.B*b.T)
	if l.labels != nil {
		b.Labels = make([][]int, b.B)
	}
	for r, u := range us {
		x := u.Samples
		if len(x) > b.T { // Pretrain: a random crop
			off := rng.IntN(len(x) - b.T + 1)
			x = x[off : off+b.T]
		}
		copy(b.Audio[r*b.T:], x)
		for t := len(x); t < b.T; t++ {
			b.Padding[r*b.T+t] = true
		}
		b.Lengths = append(b.Lengths, len(x))
		b.Indices = append(b.Indices, u.Index)
		if b.Labels != nil {
			b.Labels[r] = u.Label
		}
	}
	return b
}

// mix derives a PCG stream selector from an epoch and a batch position.
func mix(a, b uint64) uint64 { return seed.Mix(b, a) }

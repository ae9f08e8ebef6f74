package train

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/dataset"
)

// fakeTrainer counts what Loop asks of it. Batches of epoch e have
// positions 0..perEpoch-1; skip and idle pick the batches whose update is
// skipped or that hold nothing usable.
type fakeTrainer struct {
	step, epoch, pos int
	skip, idle       func(b *dataset.Batch) bool
	rows, valids     []int
	saves            int
}

func (f *fakeTrainer) Step() int                  { return f.step }
func (f *fakeTrainer) Position() (int, int)       { return f.epoch, f.pos }
func (f *fakeTrainer) SetPosition(epoch, pos int) { f.epoch, f.pos = epoch, pos }
func (f *fakeTrainer) MetricsRow() map[string]any {
	f.rows = append(f.rows, f.step)
	return map[string]any{"step": f.step}
}
func (f *fakeTrainer) Validate(context.Context) error {
	f.valids = append(f.valids, f.step)
	return nil
}
func (f *fakeTrainer) SaveLast() error { f.saves++; return nil }
func (f *fakeTrainer) Update(b *dataset.Batch) (Update, error) {
	switch {
	case f.idle != nil && f.idle(b):
		return Update{}, nil
	case f.skip != nil && f.skip(b):
		return Update{Ran: true, Skipped: "loss NaN", SkipRow: map[string]any{"step": f.step, "skipped": true}}, nil
	}
	f.step++
	return Update{Ran: true, Seconds: 1}, nil
}

// data streams perEpoch batches per epoch from a position.
func data(perEpoch int) func(ctx context.Context, epoch, pos int) <-chan *dataset.Batch {
	return func(ctx context.Context, epoch, pos int) <-chan *dataset.Batch {
		ch := make(chan *dataset.Batch)
		go func() {
			defer close(ch)
			for p := pos; p < perEpoch; p++ {
				select {
				case ch <- &dataset.Batch{Epoch: epoch, Position: p}:
				case <-ctx.Done():
					return
				}
			}
		}()
		return ch
	}
}

func loopConfig(t *testing.T, steps, perEpoch int) LoopConfig {
	dir := t.TempDir()
	m, err := OpenMetrics(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return LoopConfig{MaxSteps: steps, LogEvery: 3, ValidEvery: 4, Validate: true, MaxSkipsInARow: 5,
		Data: data(perEpoch), Name: "train.tsv", Metrics: m, Saver: NewSaver(dir, time.Hour), Progress: NewProgress(nil, steps, true)}
}

func TestLoop(t *testing.T) {
	f := &fakeTrainer{skip: func(b *dataset.Batch) bool { return b.Epoch == 0 && b.Position == 1 }}
	interrupted, err := Loop(context.Background(), f, loopConfig(t, 10, 4))
	if err != nil || interrupted {
		t.Fatalf("Loop: %v, interrupted %v", err, interrupted)
	}
	// 10 updates over epochs of 4 batches, one batch skipped: epoch 2 ends
	// after its third batch.
	if f.step != 10 || f.epoch != 2 || f.pos != 3 {
		t.Errorf("step %d at epoch %d position %d, want 10 at 2, 3", f.step, f.epoch, f.pos)
	}
	if want := []int{3, 6, 9, 10}; !slices.Equal(f.rows, want) {
		t.Errorf("metrics lines at %v, want %v", f.rows, want)
	}
	if want := []int{4, 8, 10}; !slices.Equal(f.valids, want) {
		t.Errorf("validations at %v, want %v", f.valids, want)
	}
	if f.saves != 1 {
		t.Errorf("%d saves, want 1 at the end", f.saves)
	}
}

func TestLoopInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeTrainer{}
	c := loopConfig(t, 10, 4)
	c.AfterStep = func(step int) {
		if step == 5 {
			cancel()
		}
	}
	interrupted, err := Loop(ctx, f, c)
	if err != nil || !interrupted || f.step != 5 || f.saves != 1 {
		t.Errorf("interrupted %v, err %v at step %d after %d saves; want interrupted at 5, saved", interrupted, err, f.step, f.saves)
	}
	// Resuming goes on from the batch after the last one used.
	if f.epoch != 1 || f.pos != 1 {
		t.Errorf("position %d, %d; want 1, 1", f.epoch, f.pos)
	}
}

func TestLoopErrors(t *testing.T) {
	// Every batch unusable: two empty epochs end the run.
	f := &fakeTrainer{idle: func(*dataset.Batch) bool { return true }}
	if _, err := Loop(context.Background(), f, loopConfig(t, 10, 4)); err == nil || !strings.Contains(err.Error(), "train.tsv: no usable audio") {
		t.Errorf("empty epochs: %v", err)
	}
	// Every update skipped: stopped after MaxSkipsInARow.
	f = &fakeTrainer{skip: func(*dataset.Batch) bool { return true }}
	if _, err := Loop(context.Background(), f, loopConfig(t, 10, 4)); err == nil || !strings.Contains(err.Error(), "5 updates in a row") {
		t.Errorf("skipped updates: %v", err)
	}
}

package train

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/dist"
)

// An Update is what one batch did to a Trainer.
type Update struct {
	// Ran is false when the batch held nothing usable: no update was
	// tried and the step did not advance.
	Ran bool
	// Skipped, when not empty, says why the update was skipped (a loss or
	// gradient that is not finite): no weight changed and the step did not
	// advance. SkipRow is then the metrics line to write for it.
	Skipped string
	SkipRow map[string]any
	// Seconds is the audio the batch held; Fields are the progress line's
	// figures (loss, learning rate, ...).
	Seconds float64
	Fields  []Field
}

// A Trainer is one training run in progress, as Loop drives it: the
// pretraining and fine-tuning trainers each implement it.
type Trainer interface {
	// Step is the number of updates done.
	Step() int
	// Position is where the next batch comes from: an epoch and the index
	// of a batch in its plan. SetPosition moves it; Loop calls it before
	// each update with the position after the batch.
	Position() (epoch, batch int)
	SetPosition(epoch, batch int)
	// Update runs one batch forward and backward and applies the update.
	// An error ends the run.
	Update(b *dataset.Batch) (Update, error)
	// MetricsRow returns the metrics line of the updates since the last
	// call (means over them, the step, counters), and starts a new
	// interval.
	MetricsRow() map[string]any
	// Validate measures the validation set, writes its metrics line and
	// checkpoint_best when the score improves. A cancelled context may
	// cut it short without an error.
	Validate(ctx context.Context) error
	// SaveLast writes checkpoint_last with everything a resumed run needs.
	SaveLast() error
}

// LoopConfig configures Loop.
type LoopConfig struct {
	// MaxSteps is the number of updates of the whole run.
	MaxSteps int
	// LogEvery and ValidEvery are the updates between metrics lines and
	// between validations; both also happen after the last update.
	// Validate is false when there is no validation set.
	LogEvery, ValidEvery int
	Validate             bool
	// MaxSkipsInARow ends the run with an error when this many updates in
	// a row are skipped (0: never).
	MaxSkipsInARow int
	// Data streams the batches of an epoch from a batch position (a
	// dataset.Loader's Stream); Name is the training manifest, for
	// messages.
	Data func(ctx context.Context, epoch, batch int) <-chan *dataset.Batch
	Name string
	// Metrics, Saver and Progress are the run's log, checkpoints and
	// status line; Log receives warnings (skipped updates).
	Metrics  *Metrics
	Saver    *Saver
	Progress *Progress
	Log      *slog.Logger
	// AfterStep, when set, is called after each applied update and what
	// followed it (metrics line, validation, save), with the step.
	AfterStep func(step int)

	stop func() error // set by Loop (agree)
	// Comm is the data-parallel job (nil: one process). Every rank runs
	// the same loop over the same batches; the trainer's Update averages
	// the gradients. Rank 0 alone validates, saves and writes metrics
	// (the others should get a nil Metrics and a quiet Progress), and the
	// ranks agree before every batch whether to stop, so that a signal
	// seen by one rank stops all of them after the same update.
	Comm dist.Comm
}

// lead reports whether this process writes the run's files.
func (c *LoopConfig) lead() bool { return c.Comm == nil || c.Comm.Rank() == 0 }

// ranks returns the number of processes of the run.
func (c *LoopConfig) ranks() int {
	if c.Comm == nil {
		return 1
	}
	return c.Comm.Size()
}

// agree returns the context the loop runs under: ctx itself for one
// process; for several, one that is cancelled on every rank at the same
// point, when stop (called before each batch) finds that any rank's ctx
// is done.
func (c *LoopConfig) agree(ctx context.Context) (context.Context, func() error, context.CancelFunc) {
	if c.ranks() == 1 {
		return ctx, func() error { return nil }, func() {}
	}
	agreed, cancel := context.WithCancel(context.WithoutCancel(ctx))
	flag := make([]float64, 1)
	stop := func() error {
		flag[0] = 0
		if ctx.Err() != nil {
			flag[0] = 1
		}
		if err := c.Comm.AllreduceSum64(flag); err != nil {
			return err
		}
		if flag[0] > 0 {
			cancel()
		}
		return nil
	}
	return agreed, stop, cancel
}

// Loop trains t until MaxSteps updates are done or ctx is cancelled, then
// saves checkpoint_last and reports whether it was interrupted. Each epoch
// streams its batches from the trainer's position; after each applied
// update it writes a metrics line every LogEvery steps, validates every
// ValidEvery steps and saves checkpoint_last when the Saver says it is
// due. Two epochs in a row without a usable batch end the run with an
// error, as do MaxSkipsInARow skipped updates in a row.
func Loop(ctx context.Context, t Trainer, c LoopConfig) (interrupted bool, err error) {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	ctx, stop, cancel := c.agree(ctx)
	defer cancel()
	c.stop = stop
	emptyEpochs, skipsInARow := 0, 0
	for t.Step() < c.MaxSteps && ctx.Err() == nil {
		epoch, pos := t.Position()
		ran, err := c.epoch(ctx, t, epoch, pos, &skipsInARow)
		if err != nil {
			return false, err
		}
		if t.Step() >= c.MaxSteps || ctx.Err() != nil {
			break
		}
		// The epoch is over: the next one starts from its beginning.
		if !ran {
			if emptyEpochs++; emptyEpochs >= 2 {
				return false, fmt.Errorf("%s: no usable audio: every utterance was skipped (see the warnings above)", c.Name)
			}
		} else {
			emptyEpochs = 0
		}
		t.SetPosition(epoch+1, 0)
	}
	c.Progress.Done()
	interrupted = ctx.Err() != nil && t.Step() < c.MaxSteps
	if !c.lead() {
		return interrupted, nil
	}
	return interrupted, t.SaveLast()
}

// epoch runs the batches of one epoch from pos, and reports whether any
// of them ran.
func (c *LoopConfig) epoch(ctx context.Context, t Trainer, epoch, pos int, skipsInARow *int) (ran bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for b := range c.Data(sctx, epoch, pos) {
		if err := c.stop(); err != nil {
			return ran, err
		}
		if ctx.Err() != nil {
			return ran, nil
		}
		t.SetPosition(b.Epoch, b.Position+1)
		u, err := t.Update(b)
		if err != nil {
			return ran, err
		}
		if !u.Ran {
			continue
		}
		ran = true
		if u.Skipped != "" {
			if c.lead() {
				c.Log.Warn("update skipped", "step", t.Step()+1, "reason", u.Skipped, "epoch", b.Epoch, "batch", b.Position)
			}
			if err := c.Metrics.Write(c.withRanks(u.SkipRow)); err != nil {
				return ran, err
			}
			if *skipsInARow++; c.MaxSkipsInARow > 0 && *skipsInARow >= c.MaxSkipsInARow {
				return ran, fmt.Errorf("%d updates in a row had a non-finite loss or gradient; stopping at step %d (a lower learning rate may help)", *skipsInARow, t.Step())
			}
			continue
		}
		*skipsInARow = 0
		step := t.Step()
		c.Progress.Update(step, u.Seconds, u.Fields...)
		if step%c.LogEvery == 0 || step == c.MaxSteps {
			if err := c.Metrics.Write(c.withRanks(t.MetricsRow())); err != nil {
				return ran, err
			}
		}
		if c.Validate && c.lead() && (step%c.ValidEvery == 0 || step == c.MaxSteps) {
			if err := t.Validate(ctx); err != nil {
				return ran, err
			}
		}
		if c.lead() && c.Saver.Due() {
			if err := t.SaveLast(); err != nil {
				return ran, err
			}
		}
		if c.AfterStep != nil {
			c.AfterStep(step)
		}
		if step >= c.MaxSteps {
			return ran, nil
		}
	}
	return ran, nil
}

// withRanks adds the number of processes to a training metrics line.
func (c *LoopConfig) withRanks(row map[string]any) map[string]any {
	if row != nil {
		row["ranks"] = c.ranks()
	}
	return row
}

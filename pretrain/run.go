package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/train"
)

// Options configure a pretraining run (see Run).
type Options struct {
	Train    string     // training manifest (.tsv), required
	Valid    string     // validation manifest; "" for none
	Out      string     // output folder, required
	Config   FullConfig // ignored when resuming (the checkpoint's is used)
	Seed     uint64
	MaxSteps int  // 0: the config's
	Resume   bool // continue from Out/checkpoint_last.safetensors
	// Log receives the status line and warnings (nil: discard); Quiet
	// silences the status line but not the warnings.
	Log   io.Writer
	Quiet bool
	// OnStep, if set, is called after every update with the step number
	// (tests use it to interrupt a run).
	OnStep func(step int)
}

// Result summarises a run.
type Result struct {
	Steps          int  // updates done in total
	Interrupted    bool // ctx was cancelled: checkpoint_last holds the state
	SkippedUpdates int64
	SkippedFiles   int64
	BestValid      float64 // best validation loss (NaN without validation)
}

// Run pretrains a model: it reads batches from the training manifest in a
// background goroutine, updates the model, appends a line to
// Out/metrics.jsonl every LogInterval updates, validates every
// ValidInterval updates (saving checkpoint_best when the validation loss
// improves), and saves checkpoint_last every SaveMinutes and at the end.
// When ctx is cancelled it saves checkpoint_last and returns with
// Interrupted set and no error; with Resume the run continues from
// checkpoint_last exactly as if it had not stopped. Temporary files that a
// killed run left in Out are removed first. Every manifest row's file
// header is read when the run starts: files the loader cannot use are
// reported on Log, counted once each, and skipped, and a row whose sample
// count differs from its file's header is reported and used with the
// file's count.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{BestValid: nanValue()}
	if o.Train == "" || o.Out == "" {
		return res, errors.New("pretrain: Run needs a training manifest and an output folder")
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}
	removed, err := train.RemoveTemps(o.Out)
	if len(removed) > 0 {
		fmt.Fprintf(logw, "wav2vec: removed the temporary files an interrupted run left in %s: %v\n", o.Out, removed)
	}
	if err != nil { // housekeeping only: the run can go on
		fmt.Fprintf(logw, "wav2vec: %v\n", err)
	}
	var t *Trainer
	if o.Resume {
		if t, err = LoadTrainer(train.LastPath(o.Out)); err != nil {
			return res, err
		}
		fmt.Fprintf(logw, "wav2vec: resuming from %s at step %d\n", train.LastPath(o.Out), t.Step)
	} else if t, err = NewTrainer(o.Config, o.Seed); err != nil {
		return res, err
	}
	if o.MaxSteps > 0 {
		t.SetMaxSteps(o.MaxSteps)
	}
	pc := t.Model.Cfg.Pretrain

	loader, err := openLoader(o.Train, t, true, logw)
	if err != nil {
		return res, err
	}
	var valid *dataset.Loader
	if o.Valid != "" {
		if valid, err = openLoader(o.Valid, t, false, logw); err != nil {
			return res, err
		}
	}
	t.restoreSkips(loader, valid)
	if t.Model.clusterTargets() && !o.Resume {
		load := func(i int) ([]float32, error) {
			u, err := loader.Load(i)
			if err != nil { // training will skip and count it
				fmt.Fprintf(logw, "wav2vec: k-means sample: skipping %s: %v\n", loader.Path(i), err)
			}
			return u.Samples, err
		}
		if err := t.Model.fitTargets(ctx, loader.Len(), load, t.Seed, logw); err != nil {
			if ctx.Err() != nil {
				return res, errors.New("pretrain: interrupted while fitting the k-means targets, before the first update: nothing was saved")
			}
			return res, err
		}
	}
	metrics, err := train.OpenMetrics(o.Out, t.Step)
	if err != nil {
		return res, err
	}
	defer metrics.Close()
	saver := train.NewSaver(o.Out, time.Duration(pc.SaveMinutes*float64(time.Minute)))
	if o.Resume {
		if err := saver.LoadBest(); err != nil {
			return res, err
		}
	}
	save := func() error {
		t.noteSkips(loader, valid)
		params, extra, meta, err := t.checkpoint()
		if err != nil {
			return err
		}
		return saver.SaveLast(params, extra, meta)
	}
	prog := train.NewProgress(logw, pc.MaxSteps, o.Quiet)
	defer prog.Done()

	var acc intervalStats
	emptyEpochs := 0
	for t.Step < pc.MaxSteps && ctx.Err() == nil {
		sctx, cancel := context.WithCancel(ctx)
		got := 0
		for b := range loader.Stream(sctx, t.Epoch, t.Position) {
			got++
			st, err := t.TrainStep(b)
			if err != nil {
				cancel()
				return res, err
			}
			if st.Skipped {
				fmt.Fprintf(logw, "wav2vec: step %d: update skipped: %s (epoch %d batch %d)\n", t.Step+1, st.Reason, b.Epoch, b.Position)
				if err := metrics.Write(map[string]any{"step": t.Step, "skipped_update": st.Reason, "loss": st.Loss, "skipped_updates": t.SkippedUpdates}); err != nil {
					cancel()
					return res, err
				}
			} else {
				acc.add(st)
				prog.Update(t.Step, st.AudioSeconds, train.Field{Name: "loss", Value: st.Loss},
					train.Field{Name: "ppl", Value: st.Perplexity}, train.Field{Name: "acc", Value: st.Accuracy})
				if o.OnStep != nil {
					o.OnStep(t.Step)
				}
			}
			if !st.Skipped && (t.Step%pc.LogInterval == 0 || t.Step == pc.MaxSteps) {
				t.noteSkips(loader, valid)
				if err := metrics.Write(acc.line(t, st)); err != nil {
					cancel()
					return res, err
				}
				acc = intervalStats{}
			}
			if !st.Skipped && valid != nil && (t.Step%pc.ValidInterval == 0 || t.Step == pc.MaxSteps) {
				if err := validate(ctx, t, loader, valid, saver, metrics); err != nil {
					cancel()
					return res, err
				}
			}
			if saver.Due() {
				if err := save(); err != nil {
					cancel()
					return res, err
				}
			}
			if t.Step >= pc.MaxSteps || ctx.Err() != nil {
				break
			}
		}
		cancel()
		if t.Step >= pc.MaxSteps || ctx.Err() != nil {
			break
		}
		// The epoch is over: the next one starts from its beginning.
		if got == 0 {
			emptyEpochs++
			if emptyEpochs >= 2 {
				return res, fmt.Errorf("pretrain: %s: no usable audio (every file was skipped)", o.Train)
			}
		} else {
			emptyEpochs = 0
		}
		t.Epoch, t.Position = t.Epoch+1, 0
	}
	if err := save(); err != nil {
		return res, err
	}
	res.Steps, res.Interrupted = t.Step, ctx.Err() != nil && t.Step < pc.MaxSteps
	res.SkippedUpdates, res.SkippedFiles = t.SkippedUpdates, t.noteSkips(loader, valid)
	if b := saver.Best(); train.Finite(b) {
		res.BestValid = b
	}
	return res, metrics.Close()
}

// openLoader opens a manifest for pretraining: crops of CropSeconds,
// batches of BatchSeconds, shuffled for training. Skipped files and wrong
// sample counts are reported on logw.
func openLoader(path string, t *Trainer, shuffle bool, logw io.Writer) (*dataset.Loader, error) {
	m, err := dataset.ReadManifest(path)
	if err != nil {
		return nil, err
	}
	pc := t.Model.Cfg.Pretrain
	// At least a tenth of a second, so every crop has frames to mask.
	minSamples := max(t.Model.MinSamples()+9*160, audio.SampleRate/10)
	return dataset.NewLoader(m, nil, dataset.LoaderConfig{
		Mode:            dataset.Pretrain,
		MaxBatchSeconds: pc.BatchSeconds,
		MaxSamples:      int(pc.CropSeconds * audio.SampleRate),
		MinSamples:      minSamples,
		Shuffle:         shuffle,
		Seed:            t.Seed,
		Warn: func(path string, err error) {
			fmt.Fprintf(logw, "wav2vec: skipping %s: %v\n", path, err)
		},
		Mismatch: func(err *dataset.CountError) {
			fmt.Fprintf(logw, "wav2vec: %v; using the file's count\n", err)
		},
	})
}

// validate runs a validation pass, logs it and saves checkpoint_best if
// it improved.
func validate(ctx context.Context, t *Trainer, loader, valid *dataset.Loader, saver *train.Saver, metrics *train.Metrics) error {
	vs, err := t.Validate(ctx, valid)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	t.noteSkips(loader, valid)
	params, extra, meta, err := t.checkpoint()
	if err != nil {
		return err
	}
	best, err := saver.SaveBest(vs.Loss, params, extra, meta)
	if err != nil {
		return err
	}
	return metrics.Write(map[string]any{
		"step": t.Step, "valid_loss": vs.Loss, "valid_contrastive": vs.Contrastive,
		"valid_accuracy": vs.Accuracy, "valid_perplexity": vs.Perplexity, "valid_batches": vs.Batches, "best": best,
	})
}

// intervalStats averages the updates between two metrics lines.
type intervalStats struct {
	n                                            int
	loss, con, div, pen, ppl, acc, gnorm, audioS float64
	start                                        time.Time
}

func (a *intervalStats) add(st StepStats) {
	if a.n == 0 && a.start.IsZero() {
		a.start = time.Now()
	}
	a.n++
	a.loss += st.Loss
	a.con += st.Contrastive
	a.div += st.Diversity
	a.pen += st.FeaturePenalty
	a.ppl += st.Perplexity
	a.acc += st.Accuracy
	a.gnorm += st.GradNorm
	a.audioS += st.AudioSeconds
}

// line is the metrics line of the interval: means over its updates, and
// the learning rate and temperature of the last one.
func (a *intervalStats) line(t *Trainer, last StepStats) map[string]any {
	n := float64(max(a.n, 1))
	v := map[string]any{
		"step": t.Step, "epoch": t.Epoch, "updates": a.n,
		"loss": a.loss / n, "contrastive": a.con / n, "diversity": a.div / n, "feature_penalty": a.pen / n,
		"perplexity": a.ppl / n, "accuracy": a.acc / n, "grad_norm": a.gnorm / n,
		"lr": last.LR, "temperature": last.Temperature,
		"skipped_updates": t.SkippedUpdates, "skipped_files": t.SkippedFiles,
	}
	if el := time.Since(a.start).Seconds(); a.n > 1 && el > 0 {
		// The first update's time is not measured: speed over the rest.
		v["audio_s_per_s"] = a.audioS * (n - 1) / n / el
	}
	return v
}

func nanValue() float64 { var z float64; return z / z }

package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
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
	// Init, when set (and not resuming), is the model to continue
	// pretraining: a published wav2vec 2.0 pretraining checkpoint (a
	// Wav2Vec2ForPreTraining folder, a fairseq pretraining .pt) or a
	// pretraining checkpoint of the toolkit's. The network comes from it,
	// and the settings from Config.Pretrain, or, when Config is the zero
	// value, ContinueSettings() for a published model and the
	// checkpoint's own for the toolkit's. The optimiser and the schedule
	// start afresh at update 0.
	Init string
	// Progress receives the status line (nil: none); Quiet silences it.
	Progress io.Writer
	Quiet    bool
	// Log receives warnings and notes (skipped files, manifest sample
	// counts that differ from the files', skipped updates, the temporary
	// files of a killed run removed at the start); nil means slog's
	// default logger.
	Log *slog.Logger
	// AfterStep, if set, is called after every update with the step number
	// (tests use it to interrupt a run).
	AfterStep func(step int)
	// Comm, when it has several ranks (mpirun), splits every batch over
	// them and averages their gradients; rank 0 alone writes Out's files.
	// Every rank reads the same Train, Valid and, to resume, Out. A rank
	// whose Run returns an error must end the job (Comm.Abort, or
	// dist.Finish with a non-zero code), or the others wait for it. nil
	// is one process.
	Comm dist.Comm

	// trainerHook, in tests, sees the trainer once it is made.
	trainerHook func(*Trainer)
}

// Result summarises a run.
type Result struct {
	Steps          int  // updates done in total
	Interrupted    bool // ctx was cancelled: checkpoint_last holds the state
	SkippedUpdates int64
	SkippedUtts    int64   // utterances left out, each once: file missing, unreadable, too short
	BestValid      float64 // best validation loss (NaN without validation)
}

// maxSkipsInARow stops a run whose updates keep failing (every loss NaN).
const maxSkipsInARow = 50

// Run pretrains a model: it reads batches from the training manifest in a
// background goroutine, updates the model, appends a line to
// Out/metrics.jsonl every LogEvery updates, validates every ValidEvery
// updates (saving checkpoint_best when the validation loss improves), and
// saves checkpoint_last every SaveMinutes and at the end (train.Loop).
// When ctx is cancelled it saves checkpoint_last and returns with
// Interrupted set and no error; with Resume the run continues from
// checkpoint_last exactly as if it had not stopped. Temporary files that a
// killed run left in Out are removed first. Every manifest row's file
// header is read when the run starts: files the loader cannot use are
// reported on Log, counted once each, and skipped, and a row whose sample
// count differs from its file's header is reported and used with the
// file's count. 50 skipped updates in a row end the run with an error.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{BestValid: nanValue()}
	if o.Train == "" || o.Out == "" {
		return res, errors.New("pretrain: Run needs a training manifest and an output folder")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	lead := o.Comm == nil || o.Comm.Rank() == 0
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}
	if lead {
		train.Clean(o.Out, log)
	} else {
		log = slog.New(slog.DiscardHandler) // rank 0 reports
	}
	var t *Trainer
	var err error
	if o.Resume {
		if t, err = LoadTrainer(train.LastPath(o.Out)); err != nil {
			return res, err
		}
		log.Info("pretrain: resuming", "checkpoint", train.LastPath(o.Out), "step", t.Step)
	} else if o.Init != "" {
		m, err := initModel(o.Init, o.Config.Pretrain, o.Seed, log)
		if err != nil {
			return res, err
		}
		if t, err = newTrainer(m, o.Seed); err != nil {
			return res, err
		}
	} else if t, err = NewTrainer(o.Config, o.Seed); err != nil {
		return res, err
	}
	if o.MaxSteps > 0 {
		t.SetMaxSteps(o.MaxSteps)
	}
	pc := t.Model.Config.Pretrain
	t.Comm = o.Comm
	if o.trainerHook != nil {
		o.trainerHook(t)
	}
	if err := train.SameOnAllRanks(o.Comm, []string{"step", "epoch", "position", "parameter checksum"},
		[]float64{float64(t.Step), float64(t.Epoch), float64(t.Position), train.Checksum(t.Model.Params())}); err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}

	r := &runner{t: t, log: log, savedStep: -1}
	if o.Resume {
		r.savedStep = t.Step
	}
	if r.loader, err = openLoader(o.Train, t, true, log); err != nil {
		return res, err
	}
	if o.Valid != "" {
		if r.valid, err = openLoader(o.Valid, t, false, log); err != nil {
			return res, err
		}
	}
	t.restoreSkips(r.loader, r.valid)
	if t.Model.clusterTargets() && t.Model.clusters == nil { // a resumed or continued run has them
		load := func(i int) ([]float32, error) {
			u, err := r.loader.Load(i)
			if err != nil { // training will skip and count it
				log.Warn("pretrain: k-means sample: skipping a file", "file", r.loader.Path(i), "err", err)
			}
			return u.Samples, err
		}
		if err := t.Model.fitTargets(ctx, r.loader.Len(), load, t.Seed, log); err != nil {
			if ctx.Err() != nil {
				return res, errors.New("pretrain: interrupted while fitting the k-means targets, before the first update: nothing was saved")
			}
			return res, err
		}
	}
	if lead {
		if r.metrics, err = train.OpenMetrics(o.Out, t.Step); err != nil {
			return res, err
		}
		defer r.metrics.Close()
	}
	r.saver = train.NewSaver(o.Out, time.Duration(pc.SaveMinutes*float64(time.Minute)))
	if o.Resume {
		if err := r.saver.LoadBest(); err != nil {
			return res, err
		}
	}
	progress := o.Progress
	if progress == nil || !lead {
		progress = io.Discard
	}
	res.Interrupted, err = train.Loop(ctx, r, train.LoopConfig{
		MaxSteps: pc.MaxSteps, LogEvery: pc.LogEvery, ValidEvery: pc.ValidEvery, Validate: r.valid != nil,
		MaxSkipsInARow: maxSkipsInARow, Data: r.loader.Stream, Name: o.Train,
		Metrics: r.metrics, Saver: r.saver, Progress: train.NewProgress(progress, pc.MaxSteps, o.Quiet), Log: log,
		AfterStep: o.AfterStep, Comm: o.Comm,
	})
	if err != nil {
		return res, fmt.Errorf("pretrain: %w", err)
	}
	res.Steps = t.Step
	res.SkippedUpdates, res.SkippedUtts = t.SkippedUpdates, t.noteSkips(r.loader, r.valid)
	if b := r.saver.Best(); train.Finite(b) {
		res.BestValid = b
	}
	return res, r.metrics.Close()
}

// initModel returns the model that Options.Init names, with the settings
// s (see Options.Init; the zero Config picks the default).
func initModel(init string, s Config, seed uint64, log *slog.Logger) (*Model, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9a7e))
	given := s != Config{}
	if given {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	if published.IsPath(init) {
		pm, err := published.Load(init)
		if err != nil {
			return nil, err
		}
		if !given {
			s = ContinueSettings()
		}
		if pm.NoMaskEmb {
			log.Info("pretrain: the published model has no mask embedding; masked frames get one drawn from U(0, 1)", "model", init)
		}
		m, err := FromPublished(pm, s, rng)
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, init)
		}
		args := []any{"model", init, "arch", pm.Arch, "layers", pm.Body.Config.Layers, "dim", pm.Body.Config.Dim, "targets", s.Targets}
		if m.quantizerTargets() {
			args = append(args, "codes", m.Quantizer.Config.Codes, "temperature", m.Quantizer.Config.TempStart)
		}
		log.Info("pretrain: continuing a published model", args...)
		return m, nil
	}
	c, err := nn.LoadCheckpoint(init)
	if err != nil {
		return nil, err
	}
	m, err := modelFromCheckpoint(c, true)
	if err != nil {
		return nil, err
	}
	step, err := checkpointStep(c)
	if err != nil {
		return nil, err
	}
	// The Gumbel temperature goes on from where the run left it.
	qc := &m.Config.Quantizer
	qc.TempStart = max(m.Quantizer.Temperature(int64(max(step, 0))), qc.TempEnd)
	m.Quantizer.Config = *qc
	if given {
		own := m.Config.Pretrain
		s.FinalDim, s.Targets, s.Clusters, s.TargetsFrom = own.FinalDim, own.Targets, own.Clusters, own.TargetsFrom
		m.Config.Pretrain = s
	}
	log.Info("pretrain: continuing a pretraining checkpoint", "checkpoint", init, "its_updates", step, "temperature", qc.TempStart)
	return m, nil
}

// runner is a pretraining run as train.Loop drives it.
type runner struct {
	t             *Trainer
	loader, valid *dataset.Loader
	metrics       *train.Metrics
	saver         *train.Saver
	acc           intervalStats
	log           *slog.Logger
	savedStep     int // step of the last checkpoint written (-1: none in this run)
}

func (r *runner) Step() int                    { return r.t.Step }
func (r *runner) Position() (int, int)         { return r.t.Epoch, r.t.Position }
func (r *runner) SetPosition(epoch, batch int) { r.t.Epoch, r.t.Position = epoch, batch }
func (r *runner) Validate(ctx context.Context) error {
	saved, err := validate(ctx, r.t, r.loader, r.valid, r.saver, r.metrics)
	if saved {
		r.savedStep = r.t.Step
	}
	return err
}

func (r *runner) Update(b *dataset.Batch) (train.Update, error) {
	st, err := r.t.TrainStep(b)
	if err != nil {
		return train.Update{}, err
	}
	if st.Skipped {
		return train.Update{Ran: true, Skipped: st.Reason, SkipRow: map[string]any{
			"step": r.t.Step, "skipped_update": st.Reason, "loss": st.Loss, "skipped_updates": r.t.SkippedUpdates}}, nil
	}
	r.acc.add(st)
	r.acc.last = st
	if r.t.Model.teacherTargets() {
		if err := r.t.watchCollapse(st.TargetVar, r.savedStep); err != nil {
			return train.Update{}, err
		}
		return train.Update{Ran: true, Seconds: st.AudioSeconds, Fields: []train.Field{
			{Name: "loss", Value: st.Loss}, {Name: "var", Value: st.TargetVar}}}, nil
	}
	return train.Update{Ran: true, Seconds: st.AudioSeconds, Fields: []train.Field{
		{Name: "loss", Value: st.Loss}, {Name: "ppl", Value: st.Perplexity}, {Name: "acc", Value: st.Accuracy}}}, nil
}

func (r *runner) MetricsRow() map[string]any {
	r.t.noteSkips(r.loader, r.valid)
	row := r.acc.line(r.t, r.acc.last)
	r.acc = intervalStats{}
	return row
}

func (r *runner) SaveLast() error {
	if r.t.lowVarStreak > 0 {
		r.log.Warn("pretrain: checkpoint_last not saved: the targets' variance is below the collapse guard's threshold",
			"step", r.t.Step, "updates_in_a_row", r.t.lowVarStreak, "last_saved_step", r.savedStep)
		return nil
	}
	r.t.noteSkips(r.loader, r.valid)
	params, extra, meta, err := r.t.checkpoint()
	if err != nil {
		return err
	}
	if err := r.saver.SaveLast(params, extra, meta); err != nil {
		return err
	}
	r.savedStep = r.t.Step
	return nil
}

// openLoader opens a manifest for pretraining: crops of CropSeconds,
// batches of BatchSeconds, shuffled for training. Skipped files and wrong
// sample counts are reported on log.
func openLoader(path string, t *Trainer, shuffle bool, log *slog.Logger) (*dataset.Loader, error) {
	m, err := dataset.ReadManifest(path)
	if err != nil {
		return nil, err
	}
	pc := t.Model.Config.Pretrain
	// At least a tenth of a second, so every crop has frames to mask.
	minSamples := max(t.Model.MinSamples()+9*160, audio.SampleRate/10)
	return dataset.NewLoader(m, nil, dataset.LoaderConfig{
		Mode:            dataset.Pretrain,
		MaxBatchSeconds: pc.BatchSeconds,
		MaxSamples:      int(pc.CropSeconds * audio.SampleRate),
		MinSamples:      minSamples,
		Shuffle:         shuffle,
		Seed:            t.Seed,
		NoNormalize:     t.Model.Config.NoNormalize,
		Warn: func(path string, err error) {
			log.Warn("pretrain: skipping a file", "file", path, "err", err)
		},
		Mismatch: func(err *dataset.CountError) {
			log.Warn(err.Error() + "; using the file's count")
		},
	})
}

// validate runs a validation pass, logs it and saves checkpoint_best if
// it improved (never while the collapse guard sees low variance), and
// reports whether it saved.
func validate(ctx context.Context, t *Trainer, loader, valid *dataset.Loader, saver *train.Saver, metrics *train.Metrics) (saved bool, err error) {
	vs, err := t.Validate(ctx, valid)
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	t.noteSkips(loader, valid)
	best := false
	if t.lowVarStreak == 0 {
		params, extra, meta, err := t.checkpoint()
		if err != nil {
			return false, err
		}
		if best, err = saver.SaveBest(vs.Loss, params, extra, meta); err != nil {
			return false, err
		}
	}
	row := map[string]any{
		"step": t.Step, "valid_loss": vs.Loss, "valid_contrastive": vs.Contrastive,
		"valid_accuracy": vs.Accuracy, "valid_perplexity": vs.Perplexity, "valid_batches": vs.Batches, "best": best,
	}
	if t.Model.teacherTargets() {
		row["valid_regression"], row["valid_target_var"] = vs.Regression, vs.TargetVar
		delete(row, "valid_contrastive")
		delete(row, "valid_accuracy")
		delete(row, "valid_perplexity")
	}
	return best, metrics.Write(row)
}

// intervalStats averages the updates between two metrics lines.
type intervalStats struct {
	n                                            int
	loss, con, div, pen, ppl, acc, gnorm, audioS float64
	reg, tvar                                    float64
	start                                        time.Time
	last                                         StepStats
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
	a.reg += st.Regression
	a.tvar += st.TargetVar
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
		"skipped_updates": t.SkippedUpdates, "skipped_files": t.SkippedUtts,
	}
	if t.Model.teacherTargets() {
		// No contrastive loss, codebook or temperature: the regression,
		// the targets' variance (the collapse signal) and tau.
		for _, k := range []string{"contrastive", "diversity", "perplexity", "accuracy", "temperature"} {
			delete(v, k)
		}
		v["regression"], v["target_var"], v["ema_decay"] = a.reg/n, a.tvar/n, last.EMADecay
	}
	if el := time.Since(a.start).Seconds(); a.n > 1 && el > 0 {
		// The first update's time is not measured: speed over the rest.
		v["audio_s_per_s"] = a.audioS * (n - 1) / n / el
	}
	return v
}

func nanValue() float64 { var z float64; return z / z }

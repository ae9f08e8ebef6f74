package pretrain

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/internal/seed"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// maxGraphs is how many compiled graphs (shapes) a Trainer keeps.
const maxGraphs = 6

// Trainer holds a model, its optimiser and the position of a run: the
// number of updates done, the next batch to read, and the counts of what
// was skipped. Steps count optimiser updates.
type Trainer struct {
	Model *Model
	Seed  uint64
	// Comm, when it has several ranks, splits every batch over them
	// (TrainStep); nil is one process.
	Comm dist.Comm

	Step           int      // updates done
	Epoch          int      // epoch of the next batch
	Position       int      // plan position of the next batch in Epoch
	SkippedUpdates int64    // batches whose loss or gradient was not finite
	SkippedUtts    int64    // utterances the loaders left out, each counted once (set by Run)
	skipped        [2][]int // the rows of the training and validation manifests they are

	gradBuf []float32 // the allreduce buffer of a data-parallel run
	// The collapse guard of the teacher targets: the targets' variance at
	// the run's first update (kept in checkpoints), and the updates in a
	// row since when it has been below CollapseRatio times that.
	targetVarFirst float64
	lowVarStreak   int
	// gradHook, in tests, sees the batch's gradient before clipping.
	gradHook func(params []*nn.Param)
	opt      *nn.Adam
	sched    nn.Schedule
	graphs   *nn.Cache[graphKey, *trainGraph]
}

type graphKey struct {
	B, L  int
	train bool
	total int // rows of the whole batch when B is a process's part of it
}

// StepStats is what one TrainStep measured.
type StepStats struct {
	Loss, Contrastive, Diversity, FeaturePenalty float64
	Perplexity                                   float64 // codebook perplexity of the masked frames (hard codes), or of their clusters
	Accuracy                                     float64 // fraction of masked frames whose true target scored highest
	LR                                           float64 // learning rate of the update
	Temperature                                  float64 // Gumbel-softmax temperature
	GradNorm                                     float64 // before clipping
	// The teacher targets: the regression loss, the variance of the
	// averaged targets across the masked frames (mean over channels), and
	// the EMA decay tau of the teacher's update after this one.
	Regression, TargetVar, EMADecay float64
	AudioSeconds                    float64 // audio in the batch
	Skipped                         bool    // the update was skipped (see Reason)
	Reason                          string
}

// NewTrainer returns a trainer for a fresh model drawn from seed.
func NewTrainer(cfg FullConfig, seed uint64) (*Trainer, error) {
	m, err := New(cfg, rand.New(rand.NewPCG(seed, 0x9a7e)))
	if err != nil {
		return nil, err
	}
	return newTrainer(m, seed)
}

func newTrainer(m *Model, seed uint64) (*Trainer, error) {
	pc := m.Config.Pretrain
	opt, err := nn.NewAdam(m.Params(), nn.AdamConfig{
		Beta1: pc.AdamBeta1, Beta2: pc.AdamBeta2, Eps: pc.AdamEps,
		WeightDecay: pc.WeightDecay, Decoupled: true, NoDecay: nn.NoDecayBiasNorm,
	})
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	t := &Trainer{Model: m, Seed: seed, opt: opt, graphs: nn.NewCache[graphKey, *trainGraph](maxGraphs)}
	t.setSchedule()
	if m.teacherTargets() && m.teacher == nil {
		if m.teacher, err = newTeacher(m); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Trainer) setSchedule() {
	pc := t.Model.Config.Pretrain
	if pc.Schedule == "constant" {
		t.sched = nn.PolynomialDecay{Peak: pc.LR, End: pc.LR, Warmup: pc.Warmup, Total: pc.Warmup + 1}
		return
	}
	t.sched = nn.LinearWarmupDecay(pc.LR, pc.Warmup, pc.MaxSteps)
}

// SetMaxSteps changes the number of updates of the run (and with it the
// decay of the "poly" schedule).
func (t *Trainer) SetMaxSteps(n int) {
	t.Model.Config.Pretrain.MaxSteps = n
	t.setSchedule()
}

// cropLength is the crop length used for batches of n samples: n rounded
// down to a multiple of 0.1 s (to 10 ms below 0.2 s), so that batches of
// slightly different lengths share a compiled graph.
func cropLength(n int) int {
	const coarse, fine = audio.SampleRate / 10, audio.SampleRate / 100
	if n >= 2*coarse {
		return n - n%coarse
	}
	return n - n%fine
}

// graph returns the compiled graph for B crops of L samples.
func (t *Trainer) graph(B, L int, training bool) (*trainGraph, error) {
	return t.graphPart(B, L, B, training)
}

// graphPart returns the compiled graph for B crops of L samples that are
// a part of a batch of total crops (see buildGraph).
func (t *Trainer) graphPart(B, L, total int, training bool) (*trainGraph, error) {
	return t.graphs.Get(graphKey{B, L, training, total}, func() (*trainGraph, error) {
		return t.Model.buildGraph(B, L, total, training, t.Seed)
	})
}

// batchAudio returns the batch's rows cropped to L samples, [B, 1, L].
func batchAudio(b *dataset.Batch, L int) []float32 {
	if L == b.T {
		return b.Audio
	}
	x := make([]float32, b.B*L)
	for r := range b.B {
		copy(x[r*L:(r+1)*L], b.Audio[r*b.T:])
	}
	return x
}

// batchSeed derives the seed of a batch's random draws from the run's
// seed and the batch's place in the data.
func batchSeed(s uint64, epoch, position int, salt uint64) uint64 {
	return seed.Mix(s^salt, uint64(epoch), uint64(position))
}

const (
	saltTrain   = 0x7124
	saltDropout = 0xd209
	saltValid   = 0x7a11
)

// TrainStep runs one batch forward and backward and applies one update.
// A batch whose loss or gradient is not finite changes no weight and no
// optimiser state: the update is skipped, counted in SkippedUpdates and
// reported in the result, and Step does not advance. Either way the data
// position moves past the batch.
func (t *Trainer) TrainStep(b *dataset.Batch) (StepStats, error) {
	L := cropLength(b.T)
	if t.Comm != nil && t.Comm.Size() > 1 {
		return t.trainStepPart(b, L)
	}
	tg, err := t.graph(b.B, L, true)
	if err != nil {
		return StepStats{}, err
	}
	m := t.Model
	st := StepStats{
		AudioSeconds: float64(b.B*L) / audio.SampleRate,
		LR:           t.sched.LR(t.Step + 1),
	}
	if m.quantizerTargets() {
		st.Temperature = m.Quantizer.Temperature(int64(t.Step))
	}
	rng := rand.New(rand.NewPCG(batchSeed(t.Seed, b.Epoch, b.Position, saltTrain), 1))
	tg.prog.Reseed(batchSeed(t.Seed, b.Epoch, b.Position, saltDropout))
	if err := m.prepare(tg, batchAudio(b, L), rng, st.Temperature); err != nil {
		return st, err
	}
	t.opt.ZeroGrad()
	r, err := m.run(tg)
	if err != nil {
		t.opt.ZeroGrad()
		return st, err
	}
	t.Epoch, t.Position = b.Epoch, b.Position+1
	st.Loss, st.Contrastive, st.Diversity, st.FeaturePenalty = r.Loss, r.Contrastive, r.Diversity, r.FeaturePenalty
	st.Perplexity, st.Accuracy = r.Perplexity, r.Accuracy
	if r.TargetSums != nil {
		st.Regression, st.TargetVar = r.Regression, targetVariance(r.TargetSums)
	}
	return t.update(st)
}

// update applies the gradients the step has computed (summed over the
// ranks already, in a data-parallel run): the update is skipped, and
// counted, when the loss or the gradient is not finite.
func (t *Trainer) update(st StepStats) (StepStats, error) {
	skip := func(reason string) (StepStats, error) {
		t.opt.ZeroGrad()
		t.SkippedUpdates++
		st.Skipped, st.Reason = true, reason
		return st, nil
	}
	if !train.Finite(st.Loss) {
		return skip(fmt.Sprintf("loss is %g", st.Loss))
	}
	params := t.Model.Params()
	if t.gradHook != nil {
		t.gradHook(params)
	}
	st.GradNorm = nn.ClipGradNorm(params, t.Model.Config.Pretrain.ClipNorm)
	if !train.Finite(st.GradNorm) {
		return skip(fmt.Sprintf("gradient norm is %g", st.GradNorm))
	}
	if err := t.opt.Step(st.LR); err != nil {
		if errors.Is(err, nn.ErrNonFiniteGrad) {
			return skip(err.Error())
		}
		return st, fmt.Errorf("pretrain: %w", err)
	}
	t.Step++
	st.EMADecay = t.updateTeacher()
	return st, nil
}

// updateTeacher moves the EMA teacher of the teacher targets towards the
// student after update t.Step, and returns the decay it used (0 without a
// teacher). Every rank of a data-parallel run has the same parameters
// after the update, so their teachers stay the same.
func (t *Trainer) updateTeacher() float64 {
	m := t.Model
	if m.teacher == nil {
		return 0
	}
	tau := emaDecay(m.Config.Pretrain, t.Step-1)
	m.teacher.update(m.bodyParams(), tau)
	return tau
}

// ValidStats is the result of a validation pass.
type ValidStats struct {
	Loss, Contrastive, Accuracy, Perplexity float64
	// The teacher targets: the regression loss and the targets' variance
	// across the masked frames of the whole pass.
	Regression, TargetVar float64
	Batches               int
}

// Validate computes the loss over every batch of the loader's first epoch
// in inference mode (argmax codes, no dropout), with masks and distractors
// drawn from a fixed seed so that passes at different steps compare. The
// averages weigh each batch by its number of masked frames.
// Cancelling ctx stops the pass early.
func (t *Trainer) Validate(ctx context.Context, l *dataset.Loader) (ValidStats, error) {
	var vs ValidStats
	var w float64
	var sums []float64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for b := range l.Stream(ctx, 0, 0) {
		L := cropLength(b.T)
		if t.Model.Frames(L) < encoder.MinMaskSpans {
			continue
		}
		tg, err := t.graph(b.B, L, false)
		if err != nil {
			return vs, err
		}
		rng := rand.New(rand.NewPCG(batchSeed(t.Seed, 0, b.Position, saltValid), 1))
		if err := t.Model.prepare(tg, batchAudio(b, L), rng, 0); err != nil {
			return vs, err
		}
		r, err := t.Model.run(tg)
		if err != nil {
			return vs, err
		}
		if !train.Finite(r.Loss) || r.MaskedFrames == 0 {
			continue
		}
		vs.Loss += r.Loss * r.MaskedFrames
		vs.Contrastive += r.Contrastive * r.MaskedFrames
		vs.Accuracy += r.Accuracy * r.MaskedFrames
		vs.Perplexity += r.Perplexity * r.MaskedFrames
		vs.Regression += r.Regression * r.MaskedFrames
		if r.TargetSums != nil {
			if sums == nil {
				sums = make([]float64, len(r.TargetSums))
			}
			for i, v := range r.TargetSums {
				sums[i] += v
			}
		}
		w += r.MaskedFrames
		vs.Batches++
	}
	if w == 0 {
		return vs, errors.New("pretrain: validation: no usable batch")
	}
	vs.Loss /= w
	vs.Contrastive /= w
	vs.Accuracy /= w
	vs.Perplexity /= w
	vs.Regression /= w
	if sums != nil {
		vs.TargetVar = targetVariance(sums)
	}
	return vs, nil
}

// noteSkips records in t the rows the loaders (valid may be nil) have left
// out so far, for the checkpoint, and returns how many they are.
func (t *Trainer) noteSkips(trainL, valid *dataset.Loader) int64 {
	t.skipped[0], t.skipped[1] = trainL.Skipped(), nil
	if valid != nil {
		t.skipped[1] = valid.Skipped()
	}
	t.SkippedUtts = int64(len(t.skipped[0]) + len(t.skipped[1]))
	return t.SkippedUtts
}

// restoreSkips gives the loaders the rows a resumed run had left out
// before it stopped, so that none is counted twice.
func (t *Trainer) restoreSkips(trainL, valid *dataset.Loader) {
	trainL.MarkSkipped(t.skipped[0])
	if valid != nil {
		valid.MarkSkipped(t.skipped[1])
	}
	t.noteSkips(trainL, valid)
}

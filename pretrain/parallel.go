package pretrain

import (
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/train"
)

// trainStepPart is TrainStep for one rank of t.Comm: the rank takes its
// rows of the batch (dist.Split), with the masks, distractors, noise and
// dropout masks the whole batch would have drawn, and its graph computes
// its part of the whole batch's loss: the contrastive loss divides by the
// masked frames of the whole batch, the diversity loss reads the softmax
// sums of every rank (an allreduce inside the forward pass), the feature
// penalty is weighed by the rank's share of the rows. The sum of the
// ranks' gradients, one allreduce, is then the gradient of the whole
// batch, and every rank applies the same update. The losses and the
// decision to skip a non-finite update are the same on every rank.
func (t *Trainer) trainStepPart(b *dataset.Batch, L int) (StepStats, error) {
	c, m := t.Comm, t.Model
	pc := m.Config.Pretrain
	first, rows := dist.Split(b.B, c.Rank(), c.Size())
	st := StepStats{
		AudioSeconds: float64(b.B*L) / audio.SampleRate,
		LR:           t.sched.LR(t.Step + 1),
	}
	if m.quantizerTargets() {
		st.Temperature = m.Quantizer.Temperature(int64(t.Step))
	}
	t.opt.ZeroGrad()
	// Summed over the ranks: contrastive, weighted feature penalty,
	// correct and masked frames, and, from the ranks that ran, the
	// diversity and perplexity (the same on each) and their count.
	sums := make([]float64, 7)
	var reduceErr error
	if rows > 0 {
		tg, err := t.graphPart(rows, L, b.B, true)
		if err != nil {
			return st, err
		}
		rng := rand.New(rand.NewPCG(batchSeed(t.Seed, b.Epoch, b.Position, saltTrain), 1))
		tg.prog.Reseed(batchSeed(t.Seed, b.Epoch, b.Position, saltDropout))
		tg.prog.SetBatchWindow(first, rows, b.B)
		x := batchAudio(b, L)[first*L : (first+rows)*L]
		if err := m.preparePart(tg, x, rng, st.Temperature, first, b.B); err != nil {
			return st, err
		}
		if !m.teacherTargets() {
			m.Quantizer.SetReduce(tg.quant, func(s []float64) {
				if err := c.AllreduceSum64(s); err != nil && reduceErr == nil {
					reduceErr = err
				}
			})
		}
		r, err := m.run(tg)
		if err != nil {
			return st, err
		}
		sums[0], sums[1] = r.Contrastive+r.Regression, r.FeaturePenalty*float64(rows)/float64(b.B)
		if r.MaskedFrames > 0 {
			sums[2], sums[3] = r.Accuracy*r.MaskedFrames, r.MaskedFrames
		}
		sums[4], sums[5], sums[6] = r.Diversity, r.Perplexity, 1
		if r.TargetSums != nil {
			sums = append(sums, r.TargetSums...)
		}
	} else if m.quantizerTargets() {
		// No rows here: join the diversity loss's allreduce with nothing.
		q := m.Quantizer.Config
		reduceErr = c.AllreduceSum64(make([]float64, 2*q.Groups*q.Codes+1))
	}
	if reduceErr != nil {
		return st, fmt.Errorf("pretrain: %w", reduceErr)
	}
	if m.teacherTargets() && len(sums) == 7 { // no rows here: join with zeros
		sums = append(sums, make([]float64, 2*m.Dim()+1)...)
	}
	if err := c.AllreduceSum64(sums); err != nil {
		return st, fmt.Errorf("pretrain: %w", err)
	}
	st.Contrastive, st.FeaturePenalty = sums[0], sums[1]
	st.Accuracy = sums[2] / sums[3]
	st.Diversity, st.Perplexity = sums[4]/sums[6], sums[5]/sums[6]
	st.Loss = st.Contrastive
	if m.teacherTargets() {
		st.Regression, st.Contrastive, st.Accuracy = st.Contrastive, 0, 0
		st.TargetVar = targetVariance(sums[7:])
	}
	if m.quantizerTargets() && pc.DiversityWeight != 0 {
		st.Loss += pc.DiversityWeight * st.Diversity
	}
	if m.input.Mel() == nil && pc.FeaturePenalty != 0 {
		st.Loss += pc.FeaturePenalty * st.FeaturePenalty
	}
	t.Epoch, t.Position = b.Epoch, b.Position+1
	if train.Finite(st.Loss) { // on every rank alike: the loss is the sums
		var err error
		if t.gradBuf, err = train.SumGrads(c, m.Params(), 1, t.gradBuf); err != nil {
			return st, fmt.Errorf("pretrain: %w", err)
		}
	}
	return t.update(st)
}

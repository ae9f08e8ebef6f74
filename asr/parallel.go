package asr

import (
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/train"
)

// parallel reports whether the run's batches are split over several
// ranks.
func (tr *trainer) parallel() bool { return tr.cfg.Comm != nil && tr.cfg.Comm.Size() > 1 }

// updatePart is update for one rank of a data-parallel run, given the
// batch's usable rows: every rank draws the random numbers of the whole
// batch (VTLP factors, frame and channel masks, layerdrop gates, dropout
// masks) and keeps those of its rows (dist.Split), padded to the whole
// batch's length. Its CTC loss is a mean over its rows, so its gradient is
// weighed by its share of the rows before the ranks sum them: the result
// is the gradient of the whole batch's mean. Every rank gets the same
// loss, skips the same updates and applies the same update.
func (tr *trainer) updatePart(rows [][]float32, labels [][]int) (loss, norm, secs float64, ran bool, err error) {
	c, cfg, m := tr.cfg.Comm, tr.cfg, tr.m
	n := len(rows)
	first, cnt := dist.Split(n, c.Rank(), c.Size())
	phase := tr.setFrozen()
	warps := tr.vtlpFactors(n)
	longest := 0
	for _, r := range rows {
		longest = max(longest, len(r))
		secs += float64(len(r)) / audio.SampleRate
	}
	L := (longest + bucketSamples - 1) / bucketSamples * bucketSamples
	T := m.Frames(L)
	mask := make([]float32, n*T)
	for b, r := range rows {
		encoder.SpanMask(tr.rng, mask[b*T:b*T+m.Frames(len(r))], cfg.MaskProb, cfg.MaskLength)
	}
	C := m.HeadW.Shape[1]
	var chn []float32
	if cfg.MaskChannelProb > 0 {
		chn = channelKeep(tr.rng, []int{n, C, T}, cfg.MaskChannelProb, cfg.MaskChannelLength)
	}
	opt := trainOptions{channels: cfg.MaskChannelProb > 0, layerDrop: cfg.LayerDrop > 0 && m.Transformer != nil,
		activationDropout: cfg.ActivationDropout}
	var gates []bool
	if opt.layerDrop {
		for range m.Transformer.Config.Layers {
			gates = append(gates, layerKeep(tr.rng, 1, cfg.LayerDrop)[0] == 1)
		}
	}
	tr.adam.ZeroGrad()
	share := []float64{0}
	if cnt > 0 {
		var w []float64
		if warps != nil {
			w = warps[first : first+cnt]
		}
		in, err := m.preparePadded(rows[first:first+cnt], bucketSamples, w, L)
		if err != nil {
			return 0, 0, 0, false, err
		}
		pr, err := m.get(tr.cache, graphKey{B: in.B, L: in.L, train: true, phase: phase}, in, 0, opt)
		if err != nil {
			return 0, 0, 0, false, err
		}
		pr.p.Reseed(stepSeed(cfg.Seed, tr.step))
		pr.p.SetBatchWindow(first, cnt, n)
		if cfg.poison != nil && cfg.poison(tr.step) {
			in.data[len(in.data)/2] = float32(math.NaN())
		}
		pr.p.Set(pr.x, in.data)
		pr.p.Set(pr.valid, in.valid)
		pr.p.Set(pr.msk, mask[first*T:(first+cnt)*T])
		if pr.chn != nil {
			if s := pr.chn.Shape(); s[1] != C || s[2] != T {
				return 0, 0, 0, false, fmt.Errorf("asr: channel mask %v, want [%d, %d, %d]", s, cnt, C, T)
			}
			pr.p.Set(pr.chn, chn[first*C*T:(first+cnt)*C*T])
		}
		for i, k := range pr.keep {
			g := make([]float32, k.Size())
			if gates[i] {
				for j := range g {
					g[j] = 1
				}
			}
			pr.p.Set(k, g)
		}
		if err := pr.ctc.SetTargets(in.frames, labels[first:first+cnt]); err != nil {
			return 0, 0, 0, false, fmt.Errorf("asr: %w", err)
		}
		if err := pr.p.Run(); err != nil {
			return 0, 0, 0, false, fmt.Errorf("asr: step %d: %w", tr.step+1, err)
		}
		share[0] = pr.p.Loss() * float64(cnt) / float64(n)
	}
	if err := c.AllreduceSum64(share); err != nil {
		return 0, 0, 0, false, fmt.Errorf("asr: %w", err)
	}
	if train.Finite(share[0]) { // on every rank alike: the loss is a sum
		if tr.gradBuf, err = train.SumGrads(c, m.Params(), float32(cnt)/float32(n), tr.gradBuf); err != nil {
			return 0, 0, 0, false, fmt.Errorf("asr: %w", err)
		}
	}
	return tr.apply(share[0], secs)
}

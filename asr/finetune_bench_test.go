package asr

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/internal/memtest"
)

// BenchmarkFinetuneBase measures a fine-tuning update of a model of
// wav2vec2-base's size (95 M parameters: the random model that
// tools/reference/w2v2_fixtures.py --base writes, named by $W2V2_BASE) on
// two utterances of about 8 s, after the freeze, with the transformer
// defaults (masks, layerdrop, activation dropout; the feature encoder
// frozen). It reports seconds per update, audio seconds per second, the
// GFLOP/s of the update (the feature encoder's forward pass and three times
// the rest's: a backward pass costs about two forward passes, and the
// frozen feature encoder has none) and the peak memory the process holds
// (weights, gradients, Adam's moments and the compiled program).
func BenchmarkFinetuneBase(b *testing.B) {
	dir := os.Getenv("W2V2_BASE")
	if dir == "" {
		b.Skip("W2V2_BASE is not set: /usr/bin/python3 tools/reference/w2v2_fixtures.py --base DIR writes the model")
	}
	tmp := b.TempDir()
	cfg := DefaultFinetuneConfig()
	cfg.FinetuneSettings = TransformerFinetuneSettings()
	cfg.Init, cfg.Train, cfg.Out, cfg.FreezeSteps = dir, writeToyCorpus(b, tmp, "train", 2, 1), filepath.Join(tmp, "run"), 0
	cfg.Log = quietLog(nil)
	var peak uint64
	stop := memtest.SamplePeak(&peak)
	tr := &trainer{cfg: cfg}
	if err := tr.setup(); err != nil {
		b.Fatal(err)
	}
	defer tr.cache.Clear()
	defer tr.metrics.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	batch := &dataset.Batch{B: 2}
	var rows [][]float32
	for range batch.B {
		text := toyText(rng, 19)
		x := toySpeak(rng, text)
		ids, err := tr.m.Vocab.Encode(dataset.WordsToLetters(text))
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, x)
		batch.Labels = append(batch.Labels, ids)
		batch.Lengths = append(batch.Lengths, len(x))
		batch.Indices = append(batch.Indices, len(batch.Indices))
		batch.T = max(batch.T, len(x))
	}
	var seconds, flops float64
	batch.Audio = make([]float32, batch.B*batch.T)
	for r, x := range rows {
		copy(batch.Audio[r*batch.T:], x)
		seconds += float64(len(x)) / audio.SampleRate
	}
	tc := *tr.m.Config.Transformer
	L := (batch.T + bucketSamples - 1) / bucketSamples * bucketSamples // the padded length
	flops = float64(batch.B) * (tc.FeatureFLOPs(L) + 3*(tc.FLOPs(L)-tc.FeatureFLOPs(L)))
	for b.Loop() {
		if _, _, _, ran, err := tr.update(batch); err != nil || !ran {
			b.Fatal(ran, err)
		}
	}
	stop()
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(per, "s/update")
	b.ReportMetric(seconds/per, "audio-s/s")
	b.ReportMetric(flops/per/1e9, "GFLOP/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
}

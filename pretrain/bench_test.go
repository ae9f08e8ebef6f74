package pretrain

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPretrainStep times one full update (forward, backward, Adam) of
// the tiny config on a batch of 8 crops of 2 s, and reports the audio
// seconds trained per second and the model's GFLOP/s (forward FLOPs x 3
// for forward and backward), for the waveform and the logmel input (whose
// log-mel features are computed inside the timing but not counted as
// FLOPs), and for the tiny transformer ("tiny-transformer"); and the same
// two networks with data2vec's teacher targets ("tiny-data2vec",
// "tiny-transformer-data2vec": the student's forward and backward plus the
// teacher's forward, FullConfig.TrainFLOPs), the first also with data2vec
// 2.0's decoder of 4 blocks ("tiny-data2vec-decoder").
func BenchmarkPretrainStep(b *testing.B) {
	for _, input := range []string{"wave", "logmel"} {
		b.Run(input, func(b *testing.B) {
			cfg := TinyConfig()
			cfg.Encoder.Input = input
			benchPretrainStep(b, cfg)
		})
	}
	b.Run(PresetTinyTransformer, func(b *testing.B) { benchPretrainStep(b, TinyTransformerConfig()) })
	b.Run(PresetTinyData2vec, func(b *testing.B) { benchPretrainStep(b, TinyData2vecConfig()) })
	b.Run(PresetTinyData2vec+"-decoder", func(b *testing.B) {
		cfg := TinyData2vecConfig()
		cfg.Pretrain.DecoderLayers = 4
		benchPretrainStep(b, cfg)
	})
	b.Run(PresetTinyTransformerData2vec, func(b *testing.B) { benchPretrainStep(b, TinyTransformerData2vecConfig()) })
}

func benchPretrainStep(b *testing.B, cfg FullConfig) {
	tr, err := NewTrainer(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	const B, L = 8, 32000
	batch := synthBatch(rand.New(rand.NewPCG(1, 2)), B, L, 0, 0)
	if _, err := tr.TrainStep(batch); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	for b.Loop() {
		batch.Position++
		if _, err := tr.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(B*L)/16000/sec, "audio-s/s")
	b.ReportMetric(tr.Model.Config.TrainFLOPs(B, L)/sec/1e9, "GFLOP/s")
}

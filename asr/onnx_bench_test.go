package asr_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// BenchmarkForward runs the network alone, samples to log-probabilities
// (LogProbs: normalisation, the network, log-softmax; no decoding), on
// 10 s of audio: the embedded default model (log-mel, 16 conv context
// layers) and the tiny waveform model (random weights). It computes what
// `wav2vec export` graphs compute: bench/ort runs both side by side, on
// the same input as bench/ort/bench.js.
func BenchmarkForward(b *testing.B) {
	const L = 10 * 16000
	x := make([]float32, L)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.01))
	}
	models := []struct {
		name string
		load func() (*asr.Model, error)
	}{
		{"default", defaultmodel.Model},
		{"tiny-wave", func() (*asr.Model, error) {
			return asr.New(encoder.Tiny(), nil, asr.InitScratch, rand.New(rand.NewPCG(1, 2)))
		}},
	}
	for _, c := range models {
		b.Run(c.name, func(b *testing.B) {
			m, err := c.load()
			if err != nil {
				b.Skip(err)
			}
			tr, err := asr.NewTranscriber(m, asr.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := tr.LogProbs(x); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := tr.LogProbs(x); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(10/sec, "x-realtime")
			b.ReportMetric(m.FLOPs(L)/sec/1e9, "GFLOP/s")
		})
	}
}

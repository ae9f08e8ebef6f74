package encoder

import (
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

// forwardFLOPs counts the multiply-adds (x2) of the convolutions and the
// projection for a batch of B waveforms of L samples.
func forwardFLOPs(c Config, B, L int) float64 {
	var f float64
	n, in := L, 1
	for i, k := range c.ConvKernels {
		n = (n-k)/c.ConvStrides[i] + 1
		f += 2 * float64(B*n*c.ConvDim*in*k)
		in = c.ConvDim
	}
	f += 2 * float64(B*n*c.ConvDim*c.Dim)
	f += 2 * float64(B*n*c.Dim*c.Dim*c.ContextKernel*len(c.ContextDilations))
	return f
}

// BenchmarkEncoderForward runs wave -> c (inference) for the tiny config
// on a batch of 8 two-second utterances.
func BenchmarkEncoderForward(b *testing.B) {
	const B, L = 8, 32000
	m, err := New(Tiny(), newRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	g := nn.NewGraph()
	x := g.Input("wave", B, 1, L)
	_, proj := m.Embed(g, m.Features(g, x))
	c := m.Context(g, proj, nil)
	p, err := g.Compile(nil, c)
	if err != nil {
		b.Fatal(err)
	}
	p.Set(x, randomWave(newRNG(2), B*L))
	for b.Loop() {
		if err := p.Run(); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(B*L)/16000/sec, "x-realtime")
	b.ReportMetric(forwardFLOPs(m.Config, B, L)/sec/1e9, "GFLOP/s")
}

// BenchmarkEncoderTrainStep runs a forward and backward pass of the tiny
// config (dropout on) on a batch of 8 two-second utterances.
func BenchmarkEncoderTrainStep(b *testing.B) {
	const B, L = 8, 32000
	m, err := New(Tiny(), newRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	g := nn.NewGraph()
	g.Training = true
	x := g.Input("wave", B, 1, L)
	_, proj := m.Embed(g, m.Features(g, x))
	c := m.Context(g, proj, nil)
	p, err := g.Compile(g.Mean(g.Square(c)))
	if err != nil {
		b.Fatal(err)
	}
	p.Set(x, randomWave(newRNG(2), B*L))
	for b.Loop() {
		if err := p.Run(); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(B*L)/16000/sec, "x-realtime")
	b.ReportMetric(3*forwardFLOPs(m.Config, B, L)/sec/1e9, "GFLOP/s")
}

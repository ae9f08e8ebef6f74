package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCTCBatchLossMatchesSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const V, T = 5, 9
	lengths := []int{9, 4, 0, 7, 2}
	labels := [][]int{{1, 2, 2, 3}, {4}, nil, {1, 1, 1, 1}, {2, 3, 4}} // the last is too short
	B := len(lengths)
	logits := make([]float64, B*V*T)
	for i := range logits {
		logits[i] = rng.NormFloat64()
	}
	for _, zero := range []bool{false, true} {
		cfg := CTCConfig{ZeroInfinity: zero}
		losses := make([]float64, B)
		grad := make([]float64, len(logits))
		if err := CTCBatchLoss(cfg, losses, grad, logits, B, V, T, lengths, labels); err != nil {
			t.Fatal(err)
		}
		for b := range B {
			n := lengths[b]
			x := make([]float64, n*V)
			for tt := range n {
				for v := range V {
					x[tt*V+v] = logits[(b*V+v)*T+tt]
				}
			}
			g := make([]float64, n*V)
			want, err := CTCLoss(cfg, g, logSoftmaxRows(x, n, V), n, V, labels[b])
			if err != nil {
				t.Fatal(err)
			}
			if !(losses[b] == want || math.Abs(losses[b]-want) < 1e-12) {
				t.Errorf("zero=%v utterance %d: loss %g, single %g", zero, b, losses[b], want)
			}
			for v := range V {
				for tt := range T {
					got := grad[(b*V+v)*T+tt]
					w := 0.0
					if tt < n {
						w = g[tt*V+v]
					}
					if math.Abs(got-w) > 1e-12 {
						t.Fatalf("utterance %d grad[v=%d t=%d] = %g, want %g", b, v, tt, got, w)
					}
				}
			}
		}
		if zero && losses[4] != 0 || !zero && !math.IsInf(losses[4], 1) {
			t.Errorf("zero=%v: too-short utterance loss %g", zero, losses[4])
		}
		if losses[2] != 0 {
			t.Errorf("empty utterance with no labels: loss %g, want 0", losses[2])
		}
	}
}

func TestCTCBatchLossBatchOne(t *testing.T) {
	logits := []float32{0.1, 0.2, 0.3, -1, 2, 0.5} // [1, 2, 3]
	losses := make([]float64, 1)
	grad := make([]float32, 6)
	if err := CTCBatchLoss(CTCConfig{}, losses, grad, logits, 1, 2, 3, []int{3}, [][]int{{1}}); err != nil {
		t.Fatal(err)
	}
	lp := logSoftmaxRows([]float64{0.1, -1, 0.2, 2, 0.3, 0.5}, 3, 2)
	want, _ := CTCLoss(CTCConfig{}, nil, lp, 3, 2, []int{1})
	if math.Abs(losses[0]-want) > 1e-6 || math.IsNaN(losses[0]) {
		t.Errorf("batch of one: loss %g, want %g", losses[0], want)
	}
}

func TestCTCBatchLossErrors(t *testing.T) {
	logits := make([]float32, 2*3*4)
	losses := make([]float64, 2)
	err := CTCBatchLoss(CTCConfig{}, losses, nil, logits, 2, 3, 4, []int{5, -1}, [][]int{{0}, {3}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"utterance 0: input length 5", "utterance 1: input length -1", "utterance 0: label 0 at position 0", "utterance 1: label 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := CTCBatchLoss(CTCConfig{}, losses, nil, logits, 2, 3, 4, []int{1}, [][]int{{1}, {1}}); err == nil {
		t.Error("one length for two utterances: no error")
	}
}

// BenchmarkCTCLoss: a batch of 8 utterances of 500 frames over 30 symbols
// with 80 labels each, loss and gradient.
func BenchmarkCTCLoss(b *testing.B) {
	const B, V, T, L = 8, 30, 500, 80
	rng := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, B*V*T)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64())
	}
	lengths := make([]int, B)
	labels := make([][]int, B)
	for i := range B {
		lengths[i] = T
		for range L {
			labels[i] = append(labels[i], 1+rng.IntN(V-1))
		}
	}
	losses := make([]float64, B)
	grad := make([]float32, len(logits))
	for b.Loop() {
		if err := CTCBatchLoss(CTCConfig{}, losses, grad, logits, B, V, T, lengths, labels); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "frames/s")
}

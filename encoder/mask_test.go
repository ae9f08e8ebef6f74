package encoder

import (
	"math/rand/v2"
	"testing"
)

func TestSpanMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		T, M   int
		p      float64
		lo, hi float64 // bounds on the mean masked fraction
	}{
		{200, 10, 0.65, 0.40, 0.60},     // about half, as wav2vec 2.0
		{1000, 10, 0.065, 0.055, 0.068}, // 6.5 spans of 10, some overlapping
		{100, 10, 0.065, 0.17, 0.2},     // at least two spans
		{3, 10, 0.65, 0.6, 1},
		{2, 1, 0.01, 1, 1}, // at least two masked frames
		{100, 10, 0, 0, 0}, // none
	} {
		mask := make([]float32, tc.T)
		var sum float64
		const runs = 200
		for range runs {
			n := SpanMask(rng, mask, tc.p, tc.M)
			count := 0
			for _, v := range mask {
				if v != 0 && v != 1 {
					t.Fatalf("mask value %g", v)
				}
				if v == 1 {
					count++
				}
			}
			if count != n || (tc.p > 0 && n < min(2, tc.T)) {
				t.Fatalf("T=%d: %d masked, reported %d", tc.T, count, n)
			}
			sum += float64(n) / float64(tc.T)
		}
		if mean := sum / runs; mean < tc.lo || mean > tc.hi {
			t.Errorf("T=%d M=%d p=%g: mean masked fraction %.3f, want in [%g, %g]", tc.T, tc.M, tc.p, mean, tc.lo, tc.hi)
		}
	}
}

// TestSpanMaskMin: with no minimum, a probability too small for one span
// masks nothing in some draws (fairseq's channel masks), and a span
// longer than the input masks all of it when drawn.
func TestSpanMaskMin(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mask := make([]float32, 32)
	none, all := 0, 0
	for range 200 {
		switch SpanMaskMin(rng, mask, 0.25, 64, 0) { // int(0.125 + U): one span an eighth of the time
		case 0:
			none++
		case 32:
			all++
		default:
			t.Fatal("a span of 64 over 32 channels masked part of them")
		}
	}
	if none < 150 || all < 10 {
		t.Errorf("%d draws masked nothing and %d everything, want about 175 and 25", none, all)
	}
}

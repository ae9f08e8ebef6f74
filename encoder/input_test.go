package encoder

import (
	"math"
	"testing"
)

// TestInputBatch lays out two rows, one shorter, for both inputs: the
// waveform copied and zero-padded, the log-mel features transposed to
// [bins, frames] with the short row's missing frames zero.
func TestInputBatch(t *testing.T) {
	long, short := make([]float32, 1200), make([]float32, 700)
	for i := range long {
		long[i] = float32(math.Sin(float64(i) / 7))
	}
	copy(short, long)
	for _, input := range []string{"wave", "logmel"} {
		cfg := Tiny()
		cfg.Input = input
		in, err := NewInput(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sh := in.Shape(2, len(long))
		dst := in.Batch([][]float32{long, short}, len(long))
		if len(dst) != 2*sh[1]*sh[2] {
			t.Fatalf("%s: %d values for shape %v", input, len(dst), sh)
		}
		per := sh[1] * sh[2]
		if input == "wave" { // receptive field 465 samples, hop 160
			if sh[1] != 1 || sh[2] != 1200 || dst[5] != long[5] || dst[per+699] != short[699] || dst[per+700] != 0 {
				t.Errorf("wave: shape %v, values %v %v %v", sh, dst[5], dst[per+699], dst[per+700])
			}
			if in.FeatureDim() != cfg.ConvDim || in.Hop() != 160 || in.MinSamples() != 465 {
				t.Errorf("wave: feature dim %d, hop %d, min samples %d", in.FeatureDim(), in.Hop(), in.MinSamples())
			}
			continue
		}
		// 25 ms frames every 10 ms: 1200 samples give 6 frames, 700 give 2.
		bins, T := sh[1], sh[2]
		if bins != 80 || T != 6 || in.Frames(1200) != 6 || in.Frames(700) != 2 || in.FeatureDim() != 80 || in.Hop() != 160 || in.MinSamples() != 400 {
			t.Fatalf("logmel: shape %v, frames %d %d, dim %d, hop %d, min %d", sh, in.Frames(1200), in.Frames(700), in.FeatureDim(), in.Hop(), in.MinSamples())
		}
		feats, _ := in.Mel().LogMel(long)
		for k := range bins {
			for f := range T {
				if got, want := dst[k*T+f], feats[f*bins+k]; got != want {
					t.Fatalf("logmel row 0 bin %d frame %d: %g, want %g", k, f, got, want)
				}
				got := dst[per+k*T+f]
				if f < 2 && got != feats[f*bins+k] { // the rows share their first 700 samples
					t.Fatalf("logmel row 1 bin %d frame %d: %g, want %g", k, f, got, feats[f*bins+k])
				}
				if f >= 2 && got != 0 {
					t.Fatalf("logmel row 1 bin %d frame %d: %g, want padding 0", k, f, got)
				}
			}
		}
	}
}

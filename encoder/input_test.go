package encoder

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/features"
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

func TestInputBatchWarped(t *testing.T) {
	x := make([]float32, 2000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)/5) + 0.3*math.Sin(float64(i)/2))
	}
	cfg := Tiny()
	cfg.Input = "logmel"
	in, err := NewInput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]float32{x, x, x}
	got, err := in.BatchWarped(rows, len(x), []float64{1, 1.08, 1})
	if err != nil {
		t.Fatal(err)
	}
	sh := in.Shape(3, len(x))
	per := sh[1] * sh[2]
	w, err := features.New(features.Config{NumMels: 80, VTLNWarp: 1.08})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := w.LogMel(x)
	plain := in.Batch(rows[:1], len(x))
	for k := range sh[1] {
		for f := range sh[2] {
			if g, w := got[per+k*sh[2]+f], want[f*sh[1]+k]; g != w {
				t.Fatalf("warped row, bin %d frame %d: %g, want the warped extractor's %g", k, f, g, w)
			}
		}
	}
	if !slices.Equal(got[:per], plain) || !slices.Equal(got[2*per:], plain) {
		t.Error("rows with factor 1 differ from Batch")
	}
	if slices.Equal(got[per:2*per], plain) {
		t.Error("factor 1.08 left the features unchanged")
	}
	if _, err := in.BatchWarped(rows, len(x), []float64{1, 3, 1}); err == nil || !strings.Contains(err.Error(), "VTLNWarp 3") {
		t.Errorf("factor 3: error %v, want the features' VTLNWarp error", err)
	}
	if _, err := in.BatchWarped(rows, len(x), []float64{1}); err == nil {
		t.Error("one factor for three rows: no error")
	}
	wave, _ := NewInput(Tiny())
	if _, err := wave.BatchWarped(rows, len(x), []float64{1, 1, 1}); err == nil {
		t.Error("warp factors for the waveform input: no error")
	}
}

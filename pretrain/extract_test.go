package pretrain

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
)

func TestWriteNpy(t *testing.T) {
	for _, tc := range []struct{ rows, cols int }{{0, 3}, {1, 1}, {3, 5}, {49, 256}} {
		data := make([]float32, tc.rows*tc.cols)
		for i := range data {
			data[i] = float32(i) - 0.5
		}
		var buf bytes.Buffer
		if err := WriteNpy(&buf, data, tc.rows, tc.cols); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if string(b[:8]) != "\x93NUMPY\x01\x00" {
			t.Fatalf("magic %q", b[:8])
		}
		hl := int(binary.LittleEndian.Uint16(b[8:10]))
		if (10+hl)%64 != 0 {
			t.Errorf("header end %d not aligned to 64", 10+hl)
		}
		header := string(b[10 : 10+hl])
		want := "{'descr': '<f4', 'fortran_order': False, 'shape': (" + itoa(tc.rows) + ", " + itoa(tc.cols) + "), }"
		if !strings.HasPrefix(header, want) || !strings.HasSuffix(header, "\n") {
			t.Errorf("header %q, want %q padded", header, want)
		}
		body := b[10+hl:]
		if len(body) != 4*len(data) {
			t.Fatalf("%d data bytes, want %d", len(body), 4*len(data))
		}
		for i, v := range data {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])); got != v {
				t.Fatalf("value %d = %g, want %g", i, got, v)
			}
		}
	}
	if err := WriteNpy(&bytes.Buffer{}, make([]float32, 5), 2, 3); err == nil {
		t.Error("a shape that does not match the data was accepted")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestExtract(t *testing.T) {
	// 8000 samples: 48 frames either way, the first at 400 samples (the
	// convolutions' receptive field, or a 25 ms log-mel window), then one
	// every 160.
	t.Run("wave", func(t *testing.T) { testExtract(t, quickConfig(), quickConfig().Encoder.ConvDim, 48) })
	cfg := quickConfig()
	cfg.Encoder.Input = "logmel"
	t.Run("logmel", func(t *testing.T) { testExtract(t, cfg, 80, 48) })
	t.Run("clusters", func(t *testing.T) {
		// A model trained on cluster targets has no trained quantizer, so
		// no layer q; its checkpoint without the k-means is refused for
		// training.
		tr, err := NewTrainer(quickMFCCConfig(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := tr.Model.Extract(make([]float32, 8000), LayerQ); err == nil || !strings.Contains(err.Error(), "no layer q") {
			t.Errorf("layer q: error %v", err)
		}
		if _, _, _, err := tr.Model.Extract(synthUtterance(rand.New(rand.NewPCG(1, 1)), 8000), LayerC); err != nil {
			t.Errorf("layer c: %v", err)
		}
		path := filepath.Join(t.TempDir(), "m.safetensors")
		if err := tr.Save(path); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadModel(path); err != nil {
			t.Errorf("LoadModel (for inference, no k-means needed): %v", err)
		}
		if _, err := LoadTrainer(path); err == nil || !strings.Contains(err.Error(), tensorCentroids) {
			t.Errorf("a checkpoint without its k-means: error %v", err)
		}
	})
}

// testExtract saves and loads a model of cfg and extracts each layer of
// 8000 samples: wantFrames frames, z with zDim values each.
func testExtract(t *testing.T, cfg FullConfig, zDim, wantFrames int) {
	tr, err := NewTrainer(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	x := synthUtterance(rand.New(rand.NewPCG(1, 1)), 8000)
	want := map[string]int{"z": zDim, "c": cfg.Encoder.Dim, "q": cfg.Quantizer.Dim}
	if f := m.Frames(len(x)); f != wantFrames {
		t.Errorf("%d samples give %d frames, want %d", len(x), f, wantFrames)
	}
	for layer, dim := range want {
		d1, frames, gotDim, err := m.Extract(x, layer)
		if err != nil {
			t.Fatal(err)
		}
		if frames != m.Frames(len(x)) || gotDim != dim || len(d1) != frames*dim {
			t.Errorf("%s: %d x %d (%d values), want %d x %d", layer, frames, gotDim, len(d1), m.Frames(len(x)), dim)
		}
		// The loaded model gives what the trained one gives, and the scale
		// of the input does not matter (it is normalised).
		scaled := slices.Clone(x)
		for i := range scaled {
			scaled[i] *= 0.1
		}
		d2, _, _, err := tr.Model.Extract(scaled, layer)
		if err != nil {
			t.Fatal(err)
		}
		for i := range d1 {
			if math.Abs(float64(d1[i]-d2[i])) > 1e-3*(1+math.Abs(float64(d1[i]))) {
				t.Fatalf("%s[%d]: %g from the checkpoint, %g from the scaled input", layer, i, d1[i], d2[i])
			}
		}
	}
	for _, tc := range []struct {
		n     int
		layer string
	}{{100, "c"}, {8000, "x"}} {
		if _, _, _, err := m.Extract(make([]float32, tc.n), tc.layer); err == nil || !strings.HasPrefix(err.Error(), "pretrain: ") {
			t.Errorf("%d samples, layer %q: error %v", tc.n, tc.layer, err)
		}
	}
	if _, err := LoadModel(filepath.Join(t.TempDir(), "none.safetensors")); err == nil {
		t.Error("loading a missing checkpoint succeeded")
	}
}

// TestExtractTo extracts 75 s (three windows) from a WAV stream: the .npy
// file holds the whole-input run's matrix (up to float rounding at the
// seams), for the waveform and the log-mel input; a malformed stream
// writes nothing.
func TestExtractTo(t *testing.T) {
	logmel := quickConfig()
	logmel.Encoder.Input = "logmel"
	for name, cfg := range map[string]FullConfig{"wave": quickConfig(), "logmel": logmel} {
		t.Run(name, func(t *testing.T) {
			tr, err := NewTrainer(cfg, 2)
			if err != nil {
				t.Fatal(err)
			}
			m := tr.Model
			rng := rand.New(rand.NewPCG(4, 4))
			var x []float32
			for len(x) < 75*audio.SampleRate {
				x = append(x, synthUtterance(rng, 16000)...)
			}
			var wav bytes.Buffer
			if err := audio.Encode(&wav, x, audio.SampleRate); err != nil {
				t.Fatal(err)
			}
			if x, _, err = audio.Decode(bytes.NewReader(wav.Bytes())); err != nil {
				t.Fatal(err)
			}
			for _, layer := range []string{LayerZ, LayerC} {
				want, frames, dim, err := m.Extract(x, layer)
				if err != nil {
					t.Fatal(err)
				}
				var npy bytes.Buffer
				f, d, err := m.ExtractTo(&npy, bytes.NewReader(wav.Bytes()), layer)
				if err != nil || f != frames || d != dim {
					t.Fatalf("%s: %d x %d (%v), want %d x %d", layer, f, d, err, frames, dim)
				}
				var whole bytes.Buffer
				if err := WriteNpy(&whole, want, frames, dim); err != nil {
					t.Fatal(err)
				}
				got, ref := npy.Bytes(), whole.Bytes()
				if len(got) != len(ref) || !bytes.Equal(got[:128], ref[:128]) {
					t.Fatalf("%s: %d bytes, want %d with the same header", layer, len(got), len(ref))
				}
				worst := 0.0
				for i := 128; i < len(got); i += 4 {
					a := math.Float32frombits(binary.LittleEndian.Uint32(got[i:]))
					b := math.Float32frombits(binary.LittleEndian.Uint32(ref[i:]))
					worst = max(worst, math.Abs(float64(a-b))/(1+math.Abs(float64(b))))
				}
				if worst > 1e-4 {
					t.Errorf("%s: windows differ from the whole-input run by %g", layer, worst)
				}
			}
			var npy bytes.Buffer
			if _, _, err := m.ExtractTo(&npy, bytes.NewReader(wav.Bytes()[:wav.Len()/2]), LayerC); err == nil || npy.Len() != 0 {
				t.Errorf("a truncated stream: %v, %d bytes written", err, npy.Len())
			}
		})
	}
}

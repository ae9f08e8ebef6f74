package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 639, 8000, 20000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.Float64()*2 - 1)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, x, SampleRate); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if len(b) != 44+2*n {
			t.Fatalf("n=%d: %d bytes, want %d", n, len(b), 44+2*n)
		}
		le := binary.LittleEndian
		if string(b[0:4]) != "RIFF" || le.Uint32(b[4:]) != uint32(36+2*n) || string(b[8:16]) != "WAVEfmt " ||
			le.Uint16(b[20:]) != 1 || le.Uint16(b[22:]) != 1 || le.Uint32(b[24:]) != SampleRate ||
			le.Uint16(b[34:]) != 16 || string(b[36:40]) != "data" || le.Uint32(b[40:]) != uint32(2*n) {
			t.Fatalf("n=%d: bad header % x", n, b[:44])
		}
		y, f, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(y) != n || f.Frames != int64(n) {
			t.Fatalf("n=%d: decoded %d samples, %d frames", n, len(y), f.Frames)
		}
		for i := range x {
			if e := math.Abs(float64(x[i] - y[i])); e > 0.5/32768+1e-7 && x[i] < 32767.0/32768 {
				t.Fatalf("n=%d: sample %d: %v -> %v, error %.3g > half a 16-bit step", n, i, x[i], y[i], e)
			}
		}
	}
}

func TestEncodeClips(t *testing.T) {
	var buf bytes.Buffer
	x := []float32{1.5, -1.5, 1, -1, float32(math.NaN()), float32(math.Inf(1)), 0}
	if err := Encode(&buf, x, 8000); err != nil {
		t.Fatal(err)
	}
	var got []int16
	for i := 44; i < buf.Len(); i += 2 {
		got = append(got, int16(binary.LittleEndian.Uint16(buf.Bytes()[i:])))
	}
	want := []int16{32767, -32768, 32767, -32768, 0, 32767, 0}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d (%v): got %d, want %d", i, x[i], got[i], want[i])
		}
	}
}

func TestEncodeBadRate(t *testing.T) {
	for _, rate := range []int{0, -16000} {
		if err := Encode(&bytes.Buffer{}, []float32{0}, rate); err == nil || !strings.HasPrefix(err.Error(), "audio: ") {
			t.Errorf("rate %d: error %v, want an audio: error", rate, err)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.wav")
	x := tone(8000, 16000, 440, 0.5, 0)
	for pass := 0; pass < 2; pass++ { // the second pass replaces the file
		if err := WriteFile(path, x, 16000); err != nil {
			t.Fatal(err)
		}
	}
	y, err := ReadFile(path)
	if err != nil || len(y) != len(x) {
		t.Fatalf("read back %d samples, %v", len(y), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only out.wav (no temporary file left)", len(entries))
	}
	bad := filepath.Join(dir, "missing", "out.wav")
	if err := WriteFile(bad, x, 16000); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("WriteFile into a missing directory: error %v, want one naming %s", err, bad)
	}
}

// A 44.1 kHz file written by Encode decodes to the same as Resample of the
// quantised samples.
func TestEncodeOtherRate(t *testing.T) {
	x := tone(4410, 44100, 1000, 0.5, 0)
	var buf bytes.Buffer
	if err := Encode(&buf, x, 44100); err != nil {
		t.Fatal(err)
	}
	y, _, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float32, len(x))
	for i, v := range x {
		q[i] = float32(toInt16(v)) / 32768
	}
	want := Resample(q, 44100, SampleRate)
	if !equal(y, want) {
		t.Errorf("decoded %d samples differ from Resample's %d", len(y), len(want))
	}
}

func TestNormalize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]float32, 16000)
	for i := range noise {
		noise[i] = float32(0.3 + 0.05*rng.NormFloat64())
	}
	tests := []struct {
		name    string
		x       []float32
		wantVar float64
	}{
		{"noise with offset", noise, 1},
		{"tone", tone(16000, 16000, 440, 0.01, 0), 1}, // -43 dBFS RMS: eps changes the variance by 0.2%
		{"constant", []float32{0.5, 0.5, 0.5}, 0},
		{"single", []float32{0.7}, 0},
		{"silence", make([]float32, 100), 0},
		{"empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := append([]float32(nil), tt.x...)
			Normalize(x)
			var mean, v float64
			for _, s := range x {
				if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
					t.Fatalf("non-finite sample %v", s)
				}
				mean += float64(s)
			}
			if len(x) > 0 {
				mean /= float64(len(x))
				for _, s := range x {
					v += (float64(s) - mean) * (float64(s) - mean)
				}
				v /= float64(len(x))
			}
			if math.Abs(mean) > 1e-5 || math.Abs(v-tt.wantVar) > 3e-3 {
				t.Errorf("mean %.3g, variance %.6f; want 0 and %v", mean, v, tt.wantVar)
			}
		})
	}
}

package audio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// onlyReader hides every method but Read: no Len, no Stat, no Seek, like a pipe.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSameSound decodes one sound stored in every supported format and rate
// and compares it with the 16 kHz float32 reference, sample by sample. The
// tolerances are the formats' own precision: half a step of the stored
// integer (1/256 for 8-bit, 1/65536 for 16-bit), float32's rounding for
// 24/32-bit and float64, and for resampled files the 16-bit step plus the
// resampler's pass-band error.
func TestSameSound(t *testing.T) {
	ref, err := ReadFile("testdata/ref-f32-16k.wav")
	if err != nil {
		t.Fatal(err)
	}
	const (
		f32    = 1e-7               // float32 rounding of values below 1
		half8  = 1.0/256 + f32      // half an 8-bit step
		half16 = 1.0/65536 + f32    // half a 16-bit step
		rs16   = 1.0/65536 + 1.5e-5 // 16-bit step through the resampler (gain < 1.1) + pass-band error
	)
	tests := []struct {
		file     string
		rate, ch int
		codec    string
		bits     int
		tol      float64
	}{
		{"pcm8-16k.wav", 16000, 1, "pcm", 8, half8},
		{"pcm16-16k.wav", 16000, 1, "pcm", 16, half16},
		{"pcm24-16k.wav", 16000, 1, "pcm", 24, f32},   // WAVE_FORMAT_EXTENSIBLE
		{"pcm32-16k.wav", 16000, 1, "pcm", 32, f32},   // WAVE_FORMAT_EXTENSIBLE
		{"f64-16k.wav", 16000, 1, "float", 64, f32},   // with a fact chunk
		{"ref-f32-16k.wav", 16000, 1, "float", 32, 0}, // the reference itself
		{"pcm16-16k-stereo.wav", 16000, 2, "pcm", 16, half16},
		{"pcm16-32k-3ch.wav", 32000, 3, "pcm", 16, rs16}, // WAVE_FORMAT_EXTENSIBLE, 3 channels
		{"pcm16-44k1.wav", 44100, 1, "pcm", 16, rs16},
		{"pcm16-48k.wav", 48000, 1, "pcm", 16, rs16},
		{"pcm16-22k05.wav", 22050, 1, "pcm", 16, rs16},
		{"f32-48k.wav", 48000, 1, "float", 32, 1.5e-5},
		{"pcm24-44k1-stereo.wav", 44100, 2, "pcm", 24, 1.5e-5},
		// 8 kHz: sox's own synth at 8 kHz differs from its 16 kHz synth by
		// up to 2.8e-4 (our 8 -> 16 kHz resampling of an analytic tone is
		// within 3e-6 of the tone: TestResampleAlignment).
		{"pcm16-8k.wav", 8000, 1, "pcm", 16, 3e-4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			x, f, err := Decode(bytes.NewReader(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			want := Format{Codec: tt.codec, SampleRate: tt.rate, Channels: tt.ch, BitDepth: tt.bits, Frames: int64(tt.rate / 2)}
			if f != want {
				t.Errorf("format %+v, want %+v", f, want)
			}
			if len(x) != len(ref) {
				t.Fatalf("%d samples, want %d", len(x), len(ref))
			}
			worst, at := 0.0, 0
			for i := range x {
				if e := math.Abs(float64(x[i] - ref[i])); e > worst {
					worst, at = e, i
				}
			}
			t.Logf("max error %.3g at sample %d (tolerance %.3g)", worst, at, tt.tol)
			if worst > tt.tol {
				t.Errorf("max error %.3g at sample %d, tolerance %.3g", worst, at, tt.tol)
			}
		})
	}
}

// TestInvalid runs every testdata/invalid-*.wav through ReadFile and through
// Decode on a seekable and a pipe-like reader. Each must give an error that
// names the problem, and never samples together with an error.
func TestInvalid(t *testing.T) {
	type kind int
	const (
		isFormat kind = iota
		isUnsupported
		isEOF // wraps io.ErrUnexpectedEOF
	)
	tests := map[string]struct {
		msg  string
		kind kind
		// lateOnPipe: on a reader of unknown length the header is fine and
		// the problem only shows when the samples run out.
		lateOnPipe bool
	}{
		"empty":                  {"empty file", isFormat, false},
		"not-wav":                {"not a WAV file", isFormat, false},
		"truncated-riff":         {"RIFF header", isEOF, false},
		"truncated-header":       {"fmt chunk", isEOF, false},
		"truncated-chunk-header": {"chunk header", isEOF, false},
		"data-too-long":          {"data chunk", isEOF, true},
		"huge-data":              {"data chunk", isEOF, true},
		"huge-chunk":             {`"LIST" chunk`, isEOF, false},
		"huge-fmt":               {"fmt chunk of 4294967040 bytes", isFormat, false},
		"zero-channels":          {"zero channels", isFormat, false},
		"rate-zero":              {"sample rate 0", isFormat, false},
		"format-code":            {"format code 0x1234", isUnsupported, false},
		"mulaw":                  {"mu-law", isUnsupported, false},
		"bits-12":                {"12 bits", isUnsupported, false},
		"block-align":            {"block align 3", isFormat, false},
		"fmt-short":              {"fmt chunk of 8 bytes", isFormat, false},
		"no-fmt":                 {"data chunk before fmt chunk", isFormat, false},
		"no-data":                {"no data chunk", isFormat, false},
		"two-fmt":                {"two fmt chunks", isFormat, false},
		"rifx":                   {"RIFX", isUnsupported, false},
		"not-wave":               {"not WAVE", isFormat, false},
	}
	files, err := filepath.Glob("testdata/invalid-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d invalid-*.wav files, %d table entries", len(files), len(tests))
	}
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "invalid-"), ".wav")
		tt, ok := tests[name]
		if !ok {
			t.Errorf("%s: not in the table", path)
			continue
		}
		check := func(t *testing.T, x []float32, err error) {
			t.Helper()
			if err == nil {
				t.Fatalf("no error, %d samples", len(x))
			}
			if x != nil {
				t.Errorf("%d samples returned together with error %v", len(x), err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "audio: ") || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q, want the prefix \"audio: \" and %q", msg, tt.msg)
			}
			var fe FormatError
			var ue UnsupportedError
			switch tt.kind {
			case isFormat:
				if !errors.As(err, &fe) {
					t.Errorf("error %q is not a FormatError", msg)
				}
			case isUnsupported:
				if !errors.As(err, &ue) {
					t.Errorf("error %q is not an UnsupportedError", msg)
				}
			case isEOF:
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("error %q does not wrap io.ErrUnexpectedEOF", msg)
				}
			}
		}
		t.Run(name+"/ReadFile", func(t *testing.T) {
			x, err := ReadFile(path)
			check(t, x, err)
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if _, err := ReadFileConfig(path); err == nil && !tt.lateOnPipe {
				t.Error("ReadFileConfig: no error")
			} else if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("ReadFileConfig error %q does not name %s", err, path)
			}
		})
		b := readTestdata(t, filepath.Base(path))
		t.Run(name+"/bytes", func(t *testing.T) {
			x, _, err := Decode(bytes.NewReader(b))
			check(t, x, err)
		})
		t.Run(name+"/pipe", func(t *testing.T) {
			x, _, err := Decode(onlyReader{bytes.NewReader(b)})
			check(t, x, err)
			if _, err := DecodeConfig(onlyReader{bytes.NewReader(b)}); (err == nil) != tt.lateOnPipe {
				t.Errorf("DecodeConfig: error %v, want an error: %v", err, !tt.lateOnPipe)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.wav")
	_, err := ReadFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "audio: "+path+": ") {
		t.Errorf("error %v, want one naming %s and wrapping os.ErrNotExist", err, path)
	}
}

// TestTruncatedData cuts a good file inside its samples: every reader kind
// must report io.ErrUnexpectedEOF, never a short signal.
func TestTruncatedData(t *testing.T) {
	for _, file := range []string{"pcm16-16k.wav", "pcm16-44k1.wav", "pcm24-44k1-stereo.wav"} {
		b := readTestdata(t, file)
		for _, cut := range []int{len(b) / 2, len(b) - 1} {
			readers := map[string]io.Reader{
				"bytes": bytes.NewReader(b[:cut]),
				"pipe":  onlyReader{bytes.NewReader(b[:cut])},
				"1byte": iotest.OneByteReader(onlyReader{bytes.NewReader(b[:cut])}),
			}
			for name, r := range readers {
				x, _, err := Decode(r)
				if x != nil || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("%s cut at %d, %s: %d samples, error %v; want none and io.ErrUnexpectedEOF", file, cut, name, len(x), err)
				}
			}
		}
	}
}

// TestStreamedHeader: a writer that cannot seek (a pipe) leaves the RIFF and
// data sizes at 0xFFFFFFFF; the samples then run to the end of the input.
func TestStreamedHeader(t *testing.T) {
	b := readTestdata(t, "pcm16-44k1.wav")
	want, _, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	s := append([]byte(nil), b...)
	copy(s[4:8], "\xff\xff\xff\xff")
	copy(s[40:44], "\xff\xff\xff\xff")
	for name, r := range map[string]io.Reader{"bytes": bytes.NewReader(s), "pipe": onlyReader{bytes.NewReader(s)}} {
		got, f, err := Decode(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Frames != 22050 || !equal(got, want) {
			t.Errorf("%s: %d frames, %d samples; want 22050 frames and the same samples as the sized file", name, f.Frames, len(got))
		}
	}
	if f, err := DecodeConfig(onlyReader{bytes.NewReader(s)}); err != nil || f.Frames != -1 || f.Duration() != 0 {
		t.Errorf("DecodeConfig on a pipe: %+v, %v; want Frames -1", f, err)
	}
}

func TestEmptyData(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, nil, 44100); err != nil {
		t.Fatal(err)
	}
	x, f, err := Decode(&buf)
	if err != nil || len(x) != 0 || f.Frames != 0 || f.SampleRate != 44100 {
		t.Errorf("got %d samples, %+v, %v; want 0 samples at 44100 Hz and no error", len(x), f, err)
	}
}

func TestDecodeConfig(t *testing.T) {
	f, err := ReadFileConfig("testdata/pcm24-44k1-stereo.wav")
	want := Format{Codec: "pcm", SampleRate: 44100, Channels: 2, BitDepth: 24, Frames: 22050}
	if err != nil || f != want {
		t.Fatalf("got %+v, %v; want %+v", f, err, want)
	}
	if d := f.Duration(); d.Milliseconds() != 500 {
		t.Errorf("Duration %v, want 500ms", d)
	}
}

// TestStreamMatchesDecode reads every valid fixture through a Stream with
// several buffer sizes and a one-byte-at-a-time reader: the concatenation
// must equal Decode's output exactly.
func TestStreamMatchesDecode(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.wav")
	for _, path := range files {
		if strings.HasPrefix(filepath.Base(path), "invalid-") {
			continue
		}
		b := readTestdata(t, filepath.Base(path))
		want, f, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 7, 160, 4096, 100000} {
			var r io.Reader = onlyReader{bytes.NewReader(b)}
			if size == 7 {
				r = iotest.OneByteReader(r)
			}
			s, err := NewStream(r)
			if err != nil {
				t.Fatal(err)
			}
			if s.Format().SampleRate != f.SampleRate {
				t.Errorf("%s: Stream format %+v, Decode %+v", path, s.Format(), f)
			}
			var got []float32
			buf := make([]float32, size)
			for {
				n, err := s.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
			}
			if !equal(got, want) {
				t.Errorf("%s, reads of %d: %d samples differ from Decode's %d", path, size, len(got), len(want))
			}
		}
	}
}

// TestStreamBounded: a long file (10 minutes at 48 kHz, generated on the
// fly) is read through a Stream without the decoder holding more than a few
// blocks.
func TestStreamBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("long file")
	}
	const frames = 10 * 60 * 48000
	r := io.MultiReader(bytes.NewReader(wavHeader(48000, 2, 16, frames*4)), &zeroReader{n: frames * 4})
	s, err := NewStream(r)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 16000)
	total := 0
	for {
		n, err := s.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if held := cap(s.raw)*4 + cap(s.mono)*4 + cap(s.rs.buf)*4 + cap(s.rs.out)*4; held > 1<<20 {
			t.Fatalf("stream holds %d bytes of buffers", held)
		}
	}
	if total != frames/3 {
		t.Errorf("%d samples, want %d", total, frames/3)
	}
}

type zeroReader struct{ n int }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	clear(p[:n])
	z.n -= n
	return n, nil
}

// wavHeader returns a 44-byte PCM header.
func wavHeader(rate, ch, bits, dataSize int) []byte {
	le := func(b []byte, v uint32) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	h := []byte("RIFF")
	h = le(h, uint32(36+dataSize))
	h = append(h, "WAVEfmt "...)
	h = le(h, 16)
	h = append(h, 1, 0, byte(ch), 0)
	h = le(h, uint32(rate))
	h = le(h, uint32(rate*ch*bits/8))
	h = append(h, byte(ch*bits/8), 0, byte(bits), 0)
	h = append(h, "data"...)
	return le(h, uint32(dataSize))
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

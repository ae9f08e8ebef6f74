package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder. It must never panic;
// when it succeeds the samples must be in [-1, 1], as many as the frames
// read imply, and the same through a Stream on a pipe-like reader; when it
// fails the error must be one of ours and come without samples.
// Seeds: every file in testdata (valid and invalid).
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.wav")
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		// The same header with a few hundred bytes of samples: small inputs
		// let the fuzzer run many more mutations.
		if n := dataOffset(b); n > 0 && len(b) > n+600 {
			small := append([]byte(nil), b[:n+600]...)
			binary.LittleEndian.PutUint32(small[4:], uint32(len(small)-8))
			binary.LittleEndian.PutUint32(small[n-4:], 600)
			f.Add(small)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, format, err := Decode(bytes.NewReader(b))
		cfg, cfgErr := DecodeConfig(bytes.NewReader(b))
		if err != nil {
			if x != nil {
				t.Fatalf("%d samples together with error %v", len(x), err)
			}
			var fe FormatError
			var ue UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v is not a FormatError, UnsupportedError or io.ErrUnexpectedEOF", err)
			}
			return
		}
		if cfgErr != nil {
			t.Fatalf("Decode succeeded but DecodeConfig failed: %v", cfgErr)
		}
		if cfg.SampleRate != format.SampleRate || cfg.Channels != format.Channels || cfg.Codec != format.Codec {
			t.Fatalf("DecodeConfig %+v, Decode %+v", cfg, format)
		}
		want := format.Frames
		if format.SampleRate != SampleRate {
			want = (format.Frames*SampleRate + int64(format.SampleRate) - 1) / int64(format.SampleRate)
		}
		if int64(len(x)) != want {
			t.Fatalf("%d samples from %d frames at %d Hz, want %d", len(x), format.Frames, format.SampleRate, want)
		}
		for i, v := range x {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("sample %d = %v, outside [-1, 1]", i, v)
			}
		}
		s, err := NewStream(onlyReader{bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("Decode succeeded but NewStream on a pipe failed: %v", err)
		}
		var got []float32
		buf := make([]float32, 333)
		for {
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				// A data size beyond the end is only seen at the end on a
				// pipe, but Decode on a bytes.Reader saw it first.
				t.Fatalf("Stream on a pipe: %v", err)
			}
		}
		if !equal(got, x) {
			t.Fatalf("Stream gave %d samples, Decode %d", len(got), len(x))
		}
	})
}

// dataOffset returns where the samples of a valid WAV start, or 0.
func dataOffset(b []byte) int {
	for i := 12; i+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[i+4:]))
		if string(b[i:i+4]) == "data" {
			return i + 8
		}
		i += 8 + size + size&1
	}
	return 0
}

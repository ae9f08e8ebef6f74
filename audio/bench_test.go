package audio

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// syntheticWAV returns a WAV of seconds of a tone at rate, 16-bit, ch channels.
func syntheticWAV(seconds, rate, ch int) []byte {
	x := tone(seconds*rate, rate, 440, 0.5, 0)
	data := make([]byte, 0, len(x)*2*ch)
	for _, v := range x {
		for c := 0; c < ch; c++ {
			data = binary.LittleEndian.AppendUint16(data, uint16(int16(toInt16(v))))
		}
	}
	return append(wavHeader(rate, ch, 16, len(data)), data...)
}

// BenchmarkDecodeWAV decodes 60 s files from memory, through a
// bytes.Reader (its length known, like a file) and through a pipe-like
// reader (output grown as it comes); MB/s counts the WAV bytes, x-realtime
// the audio seconds per second.
func BenchmarkDecodeWAV(b *testing.B) {
	for _, tc := range []struct {
		name     string
		rate, ch int
		pipe     bool
	}{
		{"16k-mono", 16000, 1, false}, {"16k-mono-pipe", 16000, 1, true},
		{"44k1-stereo", 44100, 2, false}, {"48k-mono", 48000, 1, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := syntheticWAV(60, tc.rate, tc.ch)
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				var r io.Reader = bytes.NewReader(w)
				if tc.pipe {
					r = onlyReader{r}
				}
				if _, _, err := Decode(r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(60*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
		})
	}
}

// BenchmarkEncode writes 60 s at 16 kHz through go-audio/wav's Encoder.
func BenchmarkEncode(b *testing.B) {
	x := tone(60*16000, 16000, 440, 0.5, 0)
	b.SetBytes(int64(44 + 2*len(x)))
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, x, 16000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(60*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
}

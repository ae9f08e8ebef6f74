package audio

import (
	"errors"
	"fmt"
	"io"
	"math"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// maxEncodeSamples keeps the RIFF size within 32 bits.
const maxEncodeSamples = (math.MaxUint32 - 44) / 2

// encodeChunk is how many samples are converted to go-audio's []int at a time.
const encodeChunk = 8192

// Encode writes samples as a 16-bit PCM mono WAV file at the given rate.
// Samples are clipped to [-1, 1] and scaled by 32768 (so Decode gives them
// back within 1/65536); NaN is written as 0. The WAV itself is written by
// go-audio/wav's Encoder into memory (it needs to seek back to fill in the
// sizes), then copied to w in one Write.
func Encode(w io.Writer, samples []float32, rate int) error {
	if err := checkEncode(len(samples), rate); err != nil {
		return err
	}
	m := &memWriteSeeker{buf: make([]byte, 0, 44+2*len(samples))}
	if err := encodeTo(m, samples, rate); err != nil {
		return err
	}
	if _, err := w.Write(m.buf); err != nil {
		return fmt.Errorf("audio: writing WAV: %w", err)
	}
	return nil
}

func checkEncode(n, rate int) error {
	if rate <= 0 || rate > math.MaxUint32/2 {
		return fmt.Errorf("audio: cannot encode at sample rate %d Hz", rate)
	}
	if n > maxEncodeSamples {
		return fmt.Errorf("audio: cannot encode %d samples: a WAV file holds at most %d 16-bit samples", n, maxEncodeSamples)
	}
	return nil
}

// encodeTo writes the WAV through go-audio/wav's Encoder, in chunks so that
// its []int buffer stays small.
func encodeTo(ws io.WriteSeeker, samples []float32, rate int) error {
	enc := wav.NewEncoder(ws, rate, 16, 1, wavePCM)
	buf := &goaudio.IntBuffer{
		Format:         &goaudio.Format{NumChannels: 1, SampleRate: rate},
		SourceBitDepth: 16,
		Data:           make([]int, 0, min(len(samples), encodeChunk)),
	}
	for first := true; first || len(samples) > 0; first = false {
		// The first Write, even of no samples, writes the header.
		n := min(len(samples), encodeChunk)
		buf.Data = buf.Data[:n]
		for i, x := range samples[:n] {
			buf.Data[i] = toInt16(x)
		}
		samples = samples[n:]
		if err := enc.Write(buf); err != nil {
			return fmt.Errorf("audio: encoding WAV: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("audio: finishing WAV: %w", err)
	}
	return nil
}

func toInt16(x float32) int {
	v := math.Round(float64(clip(x)) * 32768)
	return int(max(-32768, min(32767, v)))
}

// memWriteSeeker is an in-memory io.WriteSeeker for go-audio's Encoder.
type memWriteSeeker struct {
	buf []byte
	pos int
}

func (m *memWriteSeeker) Write(p []byte) (int, error) {
	if end := m.pos + len(p); end > len(m.buf) {
		m.buf = append(m.buf, make([]byte, end-len(m.buf))...)
	}
	n := copy(m.buf[m.pos:], p)
	m.pos += n
	return n, nil
}

func (m *memWriteSeeker) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = int64(m.pos) + off
	case io.SeekEnd:
		abs = int64(len(m.buf)) + off
	default:
		return 0, errors.New("audio: bad whence")
	}
	if abs < 0 || abs > math.MaxInt32*2 {
		return 0, errors.New("audio: seek out of range")
	}
	m.pos = int(abs)
	return abs, nil
}

// Package wavtest makes long WAV inputs for tests and benchmarks.
package wavtest

import (
	"encoding/binary"
	"io"

	"github.com/wav2vec-go/wav2vec/audio"
)

type synthWAV struct {
	head []byte
	clip []byte
	size int64
	off  int64
}

// Repeat returns a 16-bit mono 16 kHz WAV stream of n samples that repeats
// clip, made up as it is read: a long input that takes no memory.
func Repeat(clip []float32, n int64) io.ReadSeeker {
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+2*n))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], audio.SampleRate)
	binary.LittleEndian.PutUint32(h[28:], 2*audio.SampleRate)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(2*n))
	c := make([]byte, 2*len(clip))
	for i, v := range clip {
		binary.LittleEndian.PutUint16(c[2*i:], uint16(int16(max(-1, min(1, v))*32767)))
	}
	return &synthWAV{head: h, clip: c, size: 44 + 2*n}
}

func (s *synthWAV) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.size-s.off)]
	for i := range p {
		o := s.off + int64(i)
		if o < 44 {
			p[i] = s.head[o]
		} else {
			p[i] = s.clip[(o-44)%int64(len(s.clip))]
		}
	}
	s.off += int64(len(p))
	return len(p), nil
}

func (s *synthWAV) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += s.off
	case io.SeekEnd:
		off += s.size
	}
	s.off = off
	return off, nil
}

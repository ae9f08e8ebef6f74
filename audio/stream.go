package audio

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
)

// rawBlock is how many bytes of sample data a Stream reads at a time.
const rawBlock = 64 << 10

// Stream decodes a WAV file incrementally: it holds one block of the file's
// bytes, the resampler's history and the 16 kHz samples not yet returned,
// whatever the length of the file.
type Stream struct {
	r      io.Reader
	h      header
	left   int64 // data bytes not yet read; -1 when reading to EOF
	raw    []byte
	nraw   int // bytes in raw carried over from the last read (a partial frame)
	mono   []float32
	rs     *resampler // nil when the file is at 16 kHz
	out    []float32  // decoded 16 kHz samples not yet returned
	frames int64      // frames read so far
	err    error      // sticky error, io.EOF at the end
	done   bool       // no more input
	sized  bool       // the data size was checked against the input's length
}

// NewStream reads the header of the WAV stream r and returns a Stream
// positioned at the first sample. r need not be seekable. When r is an
// *os.File or has a Len method (bytes.Reader, strings.Reader), a data chunk
// longer than what r holds is reported here, before any sample is read.
func NewStream(r io.Reader) (*Stream, error) {
	avail := available(r)
	h, err := readHeader(r, avail)
	if err != nil {
		return nil, err
	}
	s := &Stream{r: r, h: h, left: h.dataSize, sized: avail >= 0}
	block := rawBlock - rawBlock%h.frameSize
	if s.sized && h.dataSize < int64(block) {
		block = int(h.dataSize) // checked against the input's size: a small file gets a small buffer
	}
	block = max(block-block%h.frameSize, h.frameSize)
	s.raw = make([]byte, block)
	s.mono = make([]float32, block/h.frameSize)
	if h.format.SampleRate != SampleRate {
		s.rs = newResampler(h.format.SampleRate, SampleRate)
	}
	return s, nil
}

// available returns how many bytes r still holds, or -1 if it cannot tell.
func available(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface {
		Stat() (fs.FileInfo, error)
		io.Seeker
	}:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil || off > fi.Size() {
			return -1
		}
		return fi.Size() - off
	}
	return -1
}

// Format returns the file's format as stored. Frames is -1 for a streamed
// WAV whose header does not give its length.
func (s *Stream) Format() Format { return s.h.format }

// Read decodes up to len(dst) samples at 16 kHz, mono, in [-1, 1]. It returns
// io.EOF once every sample has been returned. Samples read by successive
// calls, concatenated, are exactly what Decode returns. A data chunk that
// ends early is reported as an error wrapping io.ErrUnexpectedEOF.
func (s *Stream) Read(dst []float32) (int, error) {
	n := 0
	for n < len(dst) {
		if len(s.out) > 0 {
			c := copy(dst[n:], s.out)
			s.out = s.out[c:]
			n += c
			continue
		}
		if s.err != nil {
			break
		}
		s.fill()
	}
	if n > 0 {
		return n, nil
	}
	return 0, s.err
}

// fill decodes the next block into s.out, or sets s.err.
func (s *Stream) fill() {
	if s.done {
		s.err = io.EOF
		return
	}
	want := len(s.raw)
	if s.left >= 0 && int64(want-s.nraw) > s.left {
		want = s.nraw + int(s.left)
	}
	m, err := io.ReadAtLeast(s.r, s.raw[s.nraw:want], min(want-s.nraw, 1))
	if s.left >= 0 {
		s.left -= int64(m)
	}
	have := s.nraw + m
	frames := have / s.h.frameSize
	decodeFrames(s.mono[:frames], s.raw[:frames*s.h.frameSize], s.h.format)
	s.nraw = copy(s.raw, s.raw[frames*s.h.frameSize:have])
	s.frames += int64(frames)

	end := s.left == 0
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if s.left > 0 {
			s.err = fmt.Errorf("audio: data chunk ends after %d of %d bytes: %w",
				s.h.dataSize-s.left, s.h.dataSize, io.ErrUnexpectedEOF)
			return
		}
		end = true // streamed WAV: the data runs to EOF
	case err != nil:
		s.err = fmt.Errorf("audio: reading samples: %w", err)
		return
	}
	if s.rs == nil {
		s.out = s.mono[:frames]
	} else {
		s.rs.push(s.mono[:frames])
		if end {
			s.rs.flush()
		}
		s.out = s.rs.drain()
		for i, v := range s.out {
			s.out[i] = clip(v) // the filter can overshoot full scale slightly
		}
	}
	if end {
		// A trailing partial frame (a data size that is not a multiple of
		// the block align) is ignored.
		s.done = true
	}
}

// Decode reads a whole WAV stream and returns its samples at 16 kHz, mono,
// in [-1, 1], with the file's format (Frames is the number of frames read).
// r need not be seekable. On error it returns no samples.
func Decode(r io.Reader) ([]float32, Format, error) {
	s, err := NewStream(r)
	if err != nil {
		return nil, Format{}, err
	}
	// Trust the header's length only when it was checked against the
	// input's: a corrupt one must not make us allocate more than the input
	// really holds. Otherwise start small and grow.
	capHint := int64(1 << 14)
	if f := s.h.format.Frames; f >= 0 && s.sized {
		capHint = f*SampleRate/int64(s.h.format.SampleRate) + 1
	}
	out := make([]float32, 0, capHint)
	for {
		if len(out) == cap(out) {
			out = slices.Grow(out, len(out)) // double: fewer copies than append's 1.25x
		}
		n, err := s.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Format{}, err
		}
	}
	f := s.h.format
	f.Frames = s.frames
	return out, f, nil
}

// DecodeConfig reads the header of a WAV stream and returns its format
// without reading the samples. Frames is -1 for a streamed WAV whose header
// does not give its length.
func DecodeConfig(r io.Reader) (Format, error) {
	h, err := readHeader(r, available(r))
	if err != nil {
		return Format{}, err
	}
	return h.format, nil
}

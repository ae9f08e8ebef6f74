package audio

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/go-audio/riff"
)

// Limits on what the decoder accepts. Rates outside them are reported as
// UnsupportedError: below minRate the 16 kHz output would be many times
// larger than the input, above maxRate no real recording exists.
const (
	minRate     = 1000
	maxRate     = 1_000_000
	maxFmtSize  = 1 << 16 // a fmt chunk is 16 to 40 bytes in practice
	unknownSize = 0xFFFFFFFF
)

// WAVE format codes (mmreg.h).
const (
	wavePCM        = 0x0001
	waveFloat      = 0x0003
	waveALaw       = 0x0006
	waveMuLaw      = 0x0007
	waveExtensible = 0xFFFE
)

// header is what the parser learns before the first sample.
type header struct {
	format    Format
	frameSize int   // bytes per frame (block align)
	dataSize  int64 // bytes of sample data; -1 when the writer did not know (streamed WAV)
}

// countReader counts the bytes read through it, so that the parser knows
// how far into a file the data chunk starts.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readFull is io.ReadFull with a mid-stream EOF turned into
// io.ErrUnexpectedEOF and the error naming what was being read.
func readFull(r io.Reader, b []byte, what string) error {
	_, err := io.ReadFull(r, b)
	if err == nil {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("audio: reading %s: %w", what, err)
}

// readHeader parses the RIFF/WAVE header up to the start of the data chunk's
// samples. avail is the number of bytes r holds, or -1 when unknown; it lets
// a data chunk longer than the file be reported before anything is read.
func readHeader(r io.Reader, avail int64) (header, error) {
	cr := &countReader{r: r}
	var b [12]byte
	n, err := io.ReadFull(cr, b[:])
	switch {
	case n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return header{}, FormatError("empty file")
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		if !hasPrefix(b[:n], "RIFF") {
			return header{}, FormatError("not a WAV file (no RIFF header)")
		}
		return header{}, fmt.Errorf("audio: reading RIFF header: %w", io.ErrUnexpectedEOF)
	case err != nil:
		return header{}, fmt.Errorf("audio: reading RIFF header: %w", err)
	}
	switch string(b[0:4]) {
	case string(riff.RiffID[:]):
	case "RIFX", "RF64", "BW64":
		return header{}, UnsupportedError(fmt.Sprintf("%q container (only little-endian RIFF is decoded)", b[0:4]))
	default:
		return header{}, FormatError("not a WAV file (no RIFF header)")
	}
	if string(b[8:12]) != string(riff.WavFormatID[:]) {
		return header{}, FormatError(fmt.Sprintf("RIFF file of type %q, not WAVE", b[8:12]))
	}
	riffSize := binary.LittleEndian.Uint32(b[4:8])

	streamed := riffSize == unknownSize
	haveFmt := false
	var h header
	for {
		var ch [8]byte
		n, err := io.ReadFull(cr, ch[:])
		switch {
		case n == 0 && err == io.EOF:
			if !haveFmt {
				return header{}, FormatError("no fmt chunk")
			}
			return header{}, FormatError("no data chunk")
		case err == io.ErrUnexpectedEOF:
			return header{}, fmt.Errorf("audio: reading chunk header at byte %d: %w", cr.n-int64(n), err)
		case err != nil:
			return header{}, fmt.Errorf("audio: reading chunk header: %w", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		left := int64(-1) // bytes left in r after this chunk header
		if avail >= 0 {
			left = avail - cr.n
		}
		switch id {
		case string(riff.FmtID[:]):
			if haveFmt {
				return header{}, FormatError("two fmt chunks")
			}
			haveFmt = true
			if size < 16 {
				return header{}, FormatError(fmt.Sprintf("fmt chunk of %d bytes, want at least 16", size))
			}
			if size > maxFmtSize {
				return header{}, FormatError(fmt.Sprintf("fmt chunk of %d bytes, want at most %d", size, maxFmtSize))
			}
			if left >= 0 && size > left {
				return header{}, fmt.Errorf("audio: fmt chunk of %d bytes but only %d left in the file: %w", size, left, io.ErrUnexpectedEOF)
			}
			buf := make([]byte, size+size&1) // sizes checked above: at most 64 KiB
			if err := readFull(cr, buf[:size], "fmt chunk"); err != nil {
				return header{}, err
			}
			if size&1 == 1 {
				// The pad byte may be missing at the very end of a file.
				if _, err := io.ReadFull(cr, buf[size:]); err != nil && err != io.EOF {
					return header{}, fmt.Errorf("audio: reading fmt chunk: %w", err)
				}
			}
			if h, err = parseFmt(buf[:size]); err != nil {
				return header{}, err
			}
		case string(riff.DataFormatID[:]):
			if !haveFmt {
				return header{}, FormatError("data chunk before fmt chunk")
			}
			if size == unknownSize && streamed {
				// A writer that could not seek back (a pipe) left both sizes
				// unset: the samples run to the end of the input.
				h.dataSize = -1
				h.format.Frames = -1
				if left >= 0 {
					h.dataSize = left
					h.format.Frames = left / int64(h.frameSize)
				}
				return h, nil
			}
			if left >= 0 && size > left {
				return header{}, fmt.Errorf("audio: data chunk of %d bytes but only %d left in the file: %w", size, left, io.ErrUnexpectedEOF)
			}
			h.dataSize = size
			h.format.Frames = size / int64(h.frameSize)
			return h, nil
		default:
			// Any other chunk (LIST, fact, PEAK, JUNK, ...) is skipped
			// without being held in memory.
			skip := size + size&1
			if left >= 0 && size > left {
				return header{}, fmt.Errorf("audio: %q chunk of %d bytes but only %d left in the file: %w", ch[0:4], size, left, io.ErrUnexpectedEOF)
			}
			m, err := io.CopyN(io.Discard, cr, skip)
			if err == io.EOF && m == size {
				err = nil // missing pad byte at the end of the file
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				return header{}, fmt.Errorf("audio: skipping %q chunk of %d bytes: %w", ch[0:4], size, err)
			}
		}
	}
}

// parseFmt decodes a fmt chunk body and checks it for consistency.
func parseFmt(b []byte) (header, error) {
	le := binary.LittleEndian
	code := int(le.Uint16(b[0:2]))
	channels := int(le.Uint16(b[2:4]))
	rate := int64(le.Uint32(b[4:8]))
	blockAlign := int(le.Uint16(b[12:14]))
	bits := int(le.Uint16(b[14:16]))
	if code == waveExtensible {
		if len(b) < 40 {
			return header{}, FormatError(fmt.Sprintf("WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, want 40", len(b)))
		}
		// The sub-format GUID is XXXXXXXX-0000-0010-8000-00aa00389b71 where
		// XXXXXXXX is the ordinary format code.
		guid := b[24:40]
		if string(guid[2:]) != "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71" {
			return header{}, UnsupportedError(fmt.Sprintf("WAVE_FORMAT_EXTENSIBLE sub-format GUID % x", guid))
		}
		code = int(le.Uint16(guid[0:2]))
	}
	var codec string
	switch code {
	case wavePCM:
		codec = "pcm"
		if bits != 8 && bits != 16 && bits != 24 && bits != 32 {
			return header{}, UnsupportedError(fmt.Sprintf("PCM with %d bits per sample", bits))
		}
	case waveFloat:
		codec = "float"
		if bits != 32 && bits != 64 {
			return header{}, UnsupportedError(fmt.Sprintf("IEEE float with %d bits per sample", bits))
		}
	case waveALaw:
		return header{}, UnsupportedError("A-law (format code 6)")
	case waveMuLaw:
		return header{}, UnsupportedError("mu-law (format code 7)")
	case waveExtensible:
		return header{}, FormatError("WAVE_FORMAT_EXTENSIBLE inside WAVE_FORMAT_EXTENSIBLE")
	default:
		return header{}, UnsupportedError(fmt.Sprintf("format code %#04x", code))
	}
	if channels == 0 {
		return header{}, FormatError("zero channels")
	}
	if rate == 0 {
		return header{}, FormatError("sample rate 0")
	}
	if rate < minRate || rate > maxRate {
		return header{}, UnsupportedError(fmt.Sprintf("sample rate %d Hz (want %d to %d)", rate, minRate, maxRate))
	}
	if want := channels * bits / 8; blockAlign != want {
		return header{}, FormatError(fmt.Sprintf("block align %d, want %d for %d channels of %d bits", blockAlign, want, channels, bits))
	}
	return header{
		format:    Format{Codec: codec, SampleRate: int(rate), Channels: channels, BitDepth: bits},
		frameSize: blockAlign,
	}, nil
}

func hasPrefix(b []byte, s string) bool {
	if len(b) > len(s) {
		b = b[:len(s)]
	}
	return string(b) == s[:len(b)]
}

package audio

import (
	"fmt"
	"os"

	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
)

// ReadFile decodes the WAV file at path to 16 kHz mono float32 in [-1, 1].
// Every error names the path. A data chunk longer than the file is reported
// before any sample is decoded.
func ReadFile(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withPath(path, unwrapPath(err))
	}
	defer f.Close() // read-only: a Close error loses nothing
	x, _, err := Decode(f)
	if err != nil {
		return nil, withPath(path, err)
	}
	return x, nil
}

// ReadFileConfig returns the format of the WAV file at path, reading only
// its header. Every error names the path.
func ReadFileConfig(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return Format{}, withPath(path, unwrapPath(err))
	}
	defer f.Close()
	cfg, err := DecodeConfig(f)
	if err != nil {
		return Format{}, withPath(path, err)
	}
	return cfg, nil
}

// unwrapPath drops the *PathError's own copy of the path, which withPath adds.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// WriteFile writes samples to path as a 16-bit PCM mono WAV at the given
// rate (see Encode). It writes a temporary file in the same directory,
// syncs it and renames it over path, so that path holds either the old
// file or the complete new one, never a partial write.
func WriteFile(path string, samples []float32, rate int) (err error) {
	if err := checkEncode(len(samples), rate); err != nil {
		return withPath(path, err)
	}
	err = atomicfile.Write(path, func(f *os.File) error {
		return encodeTo(f, samples, rate) // go-audio's Close syncs an *os.File
	})
	if err != nil {
		return withPath(path, unwrapPath(err))
	}
	return nil
}

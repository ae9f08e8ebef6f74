package audio

import "strings"

// A FormatError reports that the input is not a valid WAV file.
type FormatError string

func (e FormatError) Error() string { return "audio: invalid format: " + string(e) }

// An UnsupportedError reports that the input is a valid WAV file that uses
// a feature this package does not decode (a compressed codec, an unusual
// bit depth, a sample rate out of range).
type UnsupportedError string

func (e UnsupportedError) Error() string { return "audio: unsupported feature: " + string(e) }

// fileError names the file an error came from. Its message reads
// "audio: PATH: problem"; errors.Is and errors.As see the wrapped error.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	return "audio: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "audio: ")
}

func (e *fileError) Unwrap() error { return e.err }

func withPath(path string, err error) error {
	if err == nil {
		return nil
	}
	return &fileError{path: path, err: err}
}

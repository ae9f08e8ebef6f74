package audio

import "time"

// SampleRate is the toolkit's sample rate in Hz: every decoder returns
// samples at this rate.
const SampleRate = 16000

// Format describes a WAV file as stored.
type Format struct {
	Codec      string // "pcm" or "float"
	SampleRate int    // frames per second in the file
	Channels   int
	BitDepth   int   // bits per sample: 8, 16, 24, 32 (pcm) or 32, 64 (float)
	Frames     int64 // frames in the file at its own rate; -1 when a streamed header does not say
}

// Duration returns the length of the audio, or 0 when Frames is unknown (-1).
func (f Format) Duration() time.Duration {
	if f.SampleRate <= 0 || f.Frames < 0 {
		return 0
	}
	return time.Duration(f.Frames * int64(time.Second) / int64(f.SampleRate))
}

package asr

import (
	"errors"
	"io"
	"slices"

	"github.com/wav2vec-go/wav2vec/asr/ctc"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// A Segment is a stretch of an input decoded on its own: its transcript and
// words, timed in seconds from the start of the input.
type Segment struct {
	Start, End float64
	Text       string
	Words      []ctc.Word
}

// sliceReader reads samples from a slice.
type sliceReader struct{ x []float32 }

func (s *sliceReader) Read(dst []float32) (int, error) {
	if len(s.x) == 0 {
		return 0, io.EOF
	}
	n := copy(dst, s.x)
	s.x = s.x[n:]
	return n, nil
}

// Stream transcribes the WAV stream r (any rate and channel count the audio
// package reads) and calls emit with each Segment, in order, as soon as it
// is final; an error from emit stops the work and is returned. r must be
// seekable: it is read twice for the mean and variance that normalise it,
// then once more to transcribe it, so a malformed or truncated file is
// refused before any segment is emitted. Memory is bounded by a window
// whatever the input's length, and the segments are those Transcribe gives
// for the whole input. It returns the input's duration in seconds.
func (t *Transcriber) Stream(r io.ReadSeeker, emit func(Segment) error) (float64, error) {
	norm, n, err := audio.NormOf(r)
	if err != nil {
		return 0, err
	}
	if t.m.Config.NoNormalize {
		norm = audio.Norm{Scale: 1}
	}
	s, err := audio.NewStream(r)
	if err != nil {
		return 0, err
	}
	duration := float64(n) / audio.SampleRate
	return duration, t.run(norm.Reader(s), int(n), duration, emit)
}

// collect returns an emit function that gathers segments into res.
func collect(res *Result) func(Segment) error {
	return func(s Segment) error {
		if s.Text != "" {
			if res.Text != "" {
				res.Text += " "
			}
			res.Text += s.Text
		}
		res.Words = append(res.Words, s.Words...)
		return nil
	}
}

// run transcribes the n normalised samples of src window by window,
// emitting segments.
func (t *Transcriber) run(src interface{ Read([]float32) (int, error) }, n int, duration float64, emit func(Segment) error) error {
	if err := t.m.checkLength(n); err != nil {
		return err
	}
	seg := &segmenter{t: t, V: t.m.Vocab.Size(), max: t.win, duration: duration, emit: emit}
	ws := t.m.input.Windows(n, t.win, t.margin)
	// The network computes the next window while the segmenter decodes
	// this one's frames (the beam search runs on one goroutine), with one
	// window's frames in between: memory stays bounded by a few windows.
	frames := make(chan []float32, 1)
	stop := make(chan struct{})
	var netErr error
	go func() {
		defer close(frames)
		c := t.cache()
		defer t.release(c)
		netErr = encoder.EachWindow(src, n, ws, func(w encoder.Window, x []float32) error {
			out, err := t.m.forward(c, [][]float32{x})
			if err != nil {
				return err
			}
			select {
			case frames <- slices.Clone(out[0][w.Keep0*seg.V : w.Keep1*seg.V]):
				return nil
			case <-stop:
				return errStopped
			}
		})
	}()
	var err error
	for f := range frames {
		if err == nil {
			if err = seg.push(f); err != nil {
				close(stop) // and take what the network sends until it stops
			}
		}
	}
	switch {
	case err != nil:
		return err
	case netErr != nil:
		return netErr
	}
	return seg.finish()
}

// errStopped ends the network's goroutine when the segmenter has failed.
var errStopped = errors.New("asr: stopped")

// segmenter gathers frames of log probabilities and decodes them in
// segments of at most max frames, cut at the longest pause.
type segmenter struct {
	t        *Transcriber
	V, max   int
	duration float64
	emit     func(Segment) error

	lp    []float32 // pending frames x V
	first int       // the input frame of lp's first row
}

// push adds frames (a whole number of rows) and decodes every segment that
// can no longer grow.
func (s *segmenter) push(frames []float32) error {
	s.lp = append(s.lp, frames...)
	for len(s.lp)/s.V > s.max {
		if err := s.decode(s.cut(), false); err != nil {
			return err
		}
	}
	return nil
}

// finish decodes what is pending.
func (s *segmenter) finish() error {
	if len(s.lp) == 0 {
		return nil
	}
	return s.decode(len(s.lp)/s.V, true)
}

// cut returns where the next segment ends: in the middle of the longest
// run of frames, among its first max, whose most likely symbol is the blank
// or the word boundary (a pause), starting no earlier than a third of max so
// that segments stay long; at max when there is no pause at all.
func (s *segmenter) cut() int {
	// The greedy path's tokens other than the boundary cover the frames
	// that are not pauses.
	speech := make([]bool, s.max)
	for _, tk := range ctc.GreedyAlign(s.lp[:s.max*s.V], s.max, s.V, s.t.m.Vocab.Blank()) {
		if tk.ID != s.t.m.boundary {
			for f := tk.Start; f < tk.End; f++ {
				speech[f] = true
			}
		}
	}
	best, bestLen := s.max, 0
	run := 0
	for f := 0; f <= s.max; f++ {
		if f < s.max && !speech[f] {
			run++
			continue
		}
		mid := f - run/2
		if run > bestLen && mid >= s.max/3 {
			best, bestLen = mid, run
		}
		run = 0
	}
	return max(best, 1)
}

// decode decodes the first frames pending as one segment and emits it;
// the last segment ends at the end of the input.
func (s *segmenter) decode(frames int, last bool) error {
	tokens := s.t.decode(s.lp[:frames*s.V], frames)
	for i := range tokens {
		tokens[i].Start += s.first
		tokens[i].End += s.first
	}
	m := s.t.m
	fs := m.FrameSeconds()
	seg := Segment{
		Start: min(float64(s.first)*fs, s.duration),
		End:   min(float64(s.first+frames)*fs, s.duration),
		Text:  ctc.Transcript(ctc.TokenIDs(tokens), m.symbols, m.boundary),
		Words: ctc.Words(tokens, m.symbols, m.boundary, fs, s.duration),
	}
	if last {
		seg.End = s.duration
	}
	s.lp = s.lp[:copy(s.lp, s.lp[frames*s.V:])]
	s.first += frames
	return s.emit(seg)
}

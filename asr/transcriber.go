package asr

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/wav2vec-go/wav2vec/asr/ctc"
	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/audio"
)

// Defaults of Options.
const (
	DefaultWindowSeconds  = 30.0
	DefaultOverlapSeconds = 3.0
)

// Options configures a Transcriber. The zero value is greedy decoding in
// windows of 30 s overlapping by 3 s.
type Options struct {
	// Beam is how many hypotheses the CTC prefix beam search keeps each
	// frame (ctc.BeamOptions.Beam); 1 (or 0) is greedy, best-path
	// decoding. An LM or a lexicon needs a beam wider than 1.
	Beam int
	// LM, LMWeight, WordScore and Lexicon are passed to BeamSearch (see
	// ctc.BeamOptions). Leave LM nil for no language model, Lexicon nil for
	// no lexicon.
	LM        lm.LM
	LMWeight  float64
	WordScore float64
	Lexicon   *lm.Lexicon
	// TokenThreshold is ctc.BeamOptions.TokenThreshold: the beam search
	// tries at each frame only the symbols within it (natural log) of the
	// frame's most likely one. 0 means ctc.DefaultTokenThreshold,
	// math.Inf(1) tries them all.
	TokenThreshold float64
	// WindowSeconds is the longest stretch of audio the network sees at
	// once; longer inputs are cut into overlapping windows, so memory stays
	// bounded. 0 means DefaultWindowSeconds.
	WindowSeconds float64
	// OverlapSeconds is how much consecutive windows overlap; each keeps
	// the frames of its centre part, half the overlap from its edges. It
	// must cover the context network's receptive field (about 1 s for the
	// tiny model), so that the seams do not change the output. 0 means
	// DefaultOverlapSeconds.
	OverlapSeconds float64
}

// Result is the transcript of one input.
type Result struct {
	Text     string     // words separated by single spaces
	Words    []ctc.Word // each word with its start and end in seconds
	Duration float64    // seconds of audio
}

// Transcriber turns audio into text with a Model. It is safe for concurrent
// use: each goroutine gets its own compiled graphs, kept for reuse.
type Transcriber struct {
	m           *Model
	opt         Options
	win, margin int

	mu   sync.Mutex
	idle []*progCache
}

// ErrOptions is wrapped by NewTranscriber's errors about the options
// themselves (a negative beam, a window too short for its overlap, an
// overlap too short for the model), as opposed to the model or the lexicon.
var ErrOptions = errors.New("asr: invalid options")

// NewTranscriber checks opt against the model and returns a Transcriber.
func NewTranscriber(m *Model, opt Options) (*Transcriber, error) {
	if m == nil {
		return nil, errors.New("asr: NewTranscriber: nil model")
	}
	if opt.WindowSeconds == 0 {
		opt.WindowSeconds = DefaultWindowSeconds
	}
	if opt.OverlapSeconds == 0 {
		opt.OverlapSeconds = DefaultOverlapSeconds
	}
	switch {
	case opt.Beam < 0:
		return nil, fmt.Errorf("%w: beam %d is negative", ErrOptions, opt.Beam)
	case !(opt.WindowSeconds > 0) || math.IsInf(opt.WindowSeconds, 0):
		return nil, fmt.Errorf("%w: window of %g s: want a positive length", ErrOptions, opt.WindowSeconds)
	case !(opt.OverlapSeconds > 0) || math.IsInf(opt.OverlapSeconds, 0):
		return nil, fmt.Errorf("%w: overlap of %g s: want a positive length", ErrOptions, opt.OverlapSeconds)
	case opt.TokenThreshold < 0 || math.IsNaN(opt.TokenThreshold):
		return nil, fmt.Errorf("%w: token threshold %g: want 0 (the default) or more", ErrOptions, opt.TokenThreshold)
	case math.IsNaN(opt.LMWeight) || math.IsNaN(opt.WordScore) || math.IsInf(opt.LMWeight, 0) || math.IsInf(opt.WordScore, 0):
		return nil, fmt.Errorf("%w: LM weight and word score must be finite", ErrOptions)
	}
	if (opt.LM != nil || opt.Lexicon != nil) && opt.Beam <= 1 {
		return nil, fmt.Errorf("%w: an LM or a lexicon needs a beam wider than 1 (beam %d)", ErrOptions, opt.Beam)
	}
	if opt.Lexicon != nil && opt.Lexicon.Spellable(m.symbols) == 0 {
		return nil, fmt.Errorf("asr: none of the lexicon's %d words can be spelled with the model's symbols (%s)", opt.Lexicon.Len(), strings.TrimSpace(strings.Join(m.symbols, " ")))
	}
	if opt.Lexicon != nil && opt.LM != nil && !opt.Lexicon.HasLookAhead() {
		opt.Lexicon = opt.Lexicon.LookAhead(opt.LM)
	}
	win, margin, err := m.windowFrames(opt.WindowSeconds, opt.OverlapSeconds)
	if err != nil {
		return nil, err
	}
	return &Transcriber{m: m, opt: opt, win: win, margin: margin}, nil
}

// Model returns the transcriber's model.
func (t *Transcriber) Model() *Model { return t.m }

// cache takes a program cache for the calling goroutine.
func (t *Transcriber) cache() *progCache {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		c := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return c
	}
	return newProgCache(4)
}

// release returns a program cache; beyond the core count it is dropped.
func (t *Transcriber) release(c *progCache) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle) < runtime.GOMAXPROCS(0) {
		t.idle = append(t.idle, c)
		return
	}
	c.Clear()
}

// normalized returns a copy of samples normalised as the model reads them.
func (m *Model) normalized(samples []float32) []float32 {
	x := slices.Clone(samples)
	m.normalize(x)
	return x
}

// normalize scales x in place to zero mean and unit variance, unless the
// model reads its input as it is (a published model whose preprocessor
// config says do_normalize false).
func (m *Model) normalize(x []float32) {
	if !m.Config.NoNormalize {
		audio.Normalize(x)
	}
}

// LogProbs returns the network's per-frame log probabilities for samples
// (16 kHz mono, any scale: they are normalised to zero mean and unit
// variance first), a frames x V row-major matrix, computed window by
// window. Too short an input gives an error wrapping ErrTooShortAudio.
func (t *Transcriber) LogProbs(samples []float32) (lp []float32, frames int, err error) {
	if err := t.m.checkLength(len(samples)); err != nil {
		return nil, 0, err
	}
	return t.logProbs(t.m.normalized(samples))
}

// logProbs is LogProbs of samples already normalised.
func (t *Transcriber) logProbs(x []float32) (lp []float32, frames int, err error) {
	if err := t.m.checkLength(len(x)); err != nil {
		return nil, 0, err
	}
	c := t.cache()
	defer t.release(c)
	V := t.m.Vocab.Size()
	F := t.m.Frames(len(x))
	lp = make([]float32, F*V)
	for _, w := range t.m.input.Windows(len(x), t.win, t.margin) {
		out, err := t.m.forward(c, [][]float32{x[w.Start:w.End]})
		if err != nil {
			return nil, 0, err
		}
		copy(lp[(w.First+w.Keep0)*V:(w.First+w.Keep1)*V], out[0][w.Keep0*V:w.Keep1*V])
	}
	return lp, F, nil
}

// Decode turns a frames x V log-probability matrix of this model into a
// Result, greedily or with the beam search the options ask for, as one
// segment however long it is (Transcribe and Stream cut long inputs into
// segments first). duration (seconds) clamps the word times.
func (t *Transcriber) Decode(lp []float32, frames int, duration float64) Result {
	m := t.m
	tokens := t.decode(lp, frames)
	return Result{
		Text:     ctc.Transcript(ctc.TokenIDs(tokens), m.symbols, m.boundary),
		Words:    ctc.Words(tokens, m.symbols, m.boundary, m.FrameSeconds(), duration),
		Duration: duration,
	}
}

// decode returns the tokens of a frames x V matrix, decoded as the options
// ask.
func (t *Transcriber) decode(lp []float32, frames int) []ctc.Token {
	m := t.m
	V := m.Vocab.Size()
	if t.opt.Beam > 1 {
		tokens, _ := ctc.BeamSearch(lp, frames, V, m.symbols, m.Vocab.Blank(), m.boundary, ctc.BeamOptions{
			Beam: t.opt.Beam, LM: t.opt.LM, LMWeight: t.opt.LMWeight, WordScore: t.opt.WordScore,
			Lexicon: t.opt.Lexicon, TokenThreshold: t.opt.TokenThreshold,
		})
		return tokens
	}
	return ctc.GreedyAlign(lp, frames, V, m.Vocab.Blank())
}

// Transcribe transcribes samples: 16 kHz mono float32, nominally in
// [-1, 1] (they are normalised first, so the scale does not matter). Audio
// shorter than the model's MinSamples gives an error wrapping
// ErrTooShortAudio. Long inputs are computed in overlapping windows and
// decoded in segments (see Stream); beyond the samples and their normalised
// copy, memory is bounded by a window.
func (t *Transcriber) Transcribe(samples []float32) (Result, error) {
	duration := float64(len(samples)) / audio.SampleRate
	res := Result{Duration: duration}
	if err := t.m.checkLength(len(samples)); err != nil {
		return Result{}, err
	}
	if err := t.run(&sliceReader{t.m.normalized(samples)}, len(samples), duration, collect(&res)); err != nil {
		return Result{}, err
	}
	return res, nil
}

// TranscribeReader transcribes a WAV stream (any rate and channel count that
// the audio package reads; it is mixed down and resampled to 16 kHz). When
// r is an io.ReadSeeker (an *os.File, a bytes.Reader) it goes through
// Stream, in memory bounded by a window; otherwise it is decoded whole
// first.
func (t *Transcriber) TranscribeReader(r io.Reader) (Result, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		var res Result
		d, err := t.Stream(rs, collect(&res))
		if err != nil {
			return Result{}, err
		}
		res.Duration = d
		return res, nil
	}
	x, _, err := audio.Decode(r)
	if err != nil {
		return Result{}, err
	}
	duration := float64(len(x)) / audio.SampleRate
	t.m.normalize(x) // the samples are ours: no copy
	res := Result{Duration: duration}
	if err := t.run(&sliceReader{x}, len(x), duration, collect(&res)); err != nil {
		return Result{}, err
	}
	return res, nil
}

// TranscribeBatch transcribes several inputs of at most one window each as
// one zero-padded batch (padding changes no result: every normalisation is
// per frame and padded frames are masked out of the context network).
func (t *Transcriber) TranscribeBatch(inputs [][]float32) ([]Result, error) {
	rows := make([][]float32, len(inputs))
	for i, x := range inputs {
		if err := t.m.checkLength(len(x)); err != nil {
			return nil, fmt.Errorf("%w (input %d)", err, i)
		}
		if f := t.m.Frames(len(x)); f > t.win {
			return nil, fmt.Errorf("asr: input %d has %d frames, more than one window of %d: use Transcribe", i, f, t.win)
		}
		rows[i] = t.m.normalized(x)
	}
	c := t.cache()
	defer t.release(c)
	lps, err := t.m.forward(c, rows)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(inputs))
	for i, lp := range lps {
		out[i] = t.Decode(lp, len(lp)/t.m.Vocab.Size(), float64(len(inputs[i]))/audio.SampleRate)
	}
	return out, nil
}

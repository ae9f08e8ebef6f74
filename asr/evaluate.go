package asr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/wav2vec-go/wav2vec/asr/ctc"
	"github.com/wav2vec-go/wav2vec/asr/wer"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/nn"
)

// ValidStats are the scores of a validation pass.
type ValidStats struct {
	Utterances int     // scored
	EmptyHyps  int     // with an empty hypothesis
	Loss       float64 // mean CTC loss per utterance (utterances too short for their labels left out)
	CER, WER   float64 // corpus rates (see CorpusRate)
	Chars      wer.ErrorCounts
	Words      wer.ErrorCounts
}

// validSet is a labeled manifest read for validation.
type validSet struct {
	path   string
	refs   []string // words, from the .ltr lines
	loader *dataset.Loader
	cache  *progCache
}

func openValidSet(path string, m *Model, batchSeconds float64, warn func(string, error), mismatch func(*dataset.CountError)) (*validSet, error) {
	man, labels, err := readLabeled(path, m.Vocab)
	if err != nil {
		return nil, err
	}
	lines, err := dataset.ReadLabels(path, "ltr")
	if err != nil {
		return nil, err
	}
	v := &validSet{path: path, cache: newProgCache(4)}
	for _, l := range lines {
		v.refs = append(v.refs, dataset.LettersToWords(l))
	}
	v.loader, err = dataset.NewLoader(man, labels, dataset.LoaderConfig{
		Mode: dataset.Finetune, MaxBatchSeconds: batchSeconds, MinSamples: max(640, m.MinSamples()), Warn: warn, Mismatch: mismatch,
		NoNormalize: m.Config.NoNormalize,
	})
	if err != nil {
		return nil, fmt.Errorf("asr: %s: %w", path, err)
	}
	return v, nil
}

// run scores the model on the set with greedy decoding.
func (v *validSet) run(ctx context.Context, m *Model) (ValidStats, error) {
	var vs ValidStats
	var lossSum float64
	var lossN int
	V := m.Vocab.Size()
	cfg := nn.CTCConfig{Blank: m.Vocab.Blank()}
	vctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for b := range v.loader.Stream(vctx, 0, 0) {
		rows := make([][]float32, b.B)
		for r := range b.B {
			rows[r] = b.Audio[r*b.T : r*b.T+b.Lengths[r]]
		}
		lps, err := m.forward(v.cache, rows)
		if err != nil {
			return vs, fmt.Errorf("asr: validating on %s: %w", v.path, err)
		}
		for r, lp := range lps {
			T := len(lp) / V
			if l, err := nn.CTCLoss(cfg, nil, lp, T, V, b.Labels[r]); err == nil && !math.IsInf(l, 0) && !math.IsNaN(l) {
				lossSum += l
				lossN++
			}
			hyp := ctc.Transcript(ctc.GreedyDecode(lp, T, V, cfg.Blank), m.symbols, m.boundary)
			ref := v.refs[b.Indices[r]]
			vs.Words.Add(wer.WordErrors(ref, hyp))
			vs.Chars.Add(wer.CharErrors(ref, hyp))
			vs.Utterances++
			if hyp == "" {
				vs.EmptyHyps++
			}
		}
	}
	if ctx.Err() != nil {
		return vs, ctx.Err()
	}
	vs.Loss = math.NaN()
	if lossN > 0 {
		vs.Loss = lossSum / float64(lossN)
	}
	vs.WER, vs.CER = wer.CorpusRate(vs.Words), wer.CorpusRate(vs.Chars)
	return vs, nil
}

// EvalResult is the outcome of Evaluate.
type EvalResult struct {
	WER          float64         `json:"wer"`
	CER          float64         `json:"cer"`
	Utterances   int             `json:"utterances"`
	AudioSeconds float64         `json:"audio_seconds"`
	RTF          float64         `json:"rtf"` // wall-clock seconds per second of audio
	Words        wer.ErrorCounts `json:"word_errors"`
	Chars        wer.ErrorCounts `json:"char_errors"`
	TooShort     int             `json:"too_short"` // clips too short for the model, scored as empty hypotheses
}

// references reads what a manifest's utterances say: words from NAME.wrd
// (or, without it, from NAME.ltr) for the WER, and from NAME.ltr (or, without
// it, NAME.wrd) for the CER.
func references(path string) (words, chars []string, err error) {
	wrd, werr := dataset.ReadLabels(path, "wrd")
	ltr, lerr := dataset.ReadLabels(path, "ltr")
	if werr != nil && !errors.Is(werr, fs.ErrNotExist) {
		return nil, nil, werr
	}
	if lerr != nil && !errors.Is(lerr, fs.ErrNotExist) {
		return nil, nil, lerr
	}
	if werr != nil && lerr != nil {
		return nil, nil, fmt.Errorf("asr: %s has no labels beside it: want %s (the words) or %s (the letters)",
			path, dataset.LabelPath(path, "wrd"), dataset.LabelPath(path, "ltr"))
	}
	for _, l := range ltr {
		chars = append(chars, dataset.LettersToWords(l))
	}
	if wrd == nil {
		wrd = chars
	}
	if chars == nil {
		chars = wrd
	}
	return wrd, chars, nil
}

// Evaluate transcribes every file of a manifest with t, workers at a time
// (0: the number of cores), and scores the transcripts against the labels
// beside it. A file that cannot be read is an error; a clip too short for
// the model counts as an empty transcript (and in TooShort). When the
// model spells in lowercase only (as many published models do), the
// transcripts and the labels are compared in uppercase, so that the case
// of the labels does not count as errors.
func Evaluate(ctx context.Context, t *Transcriber, manifest string, workers int) (*EvalResult, error) {
	return EvaluateShard(ctx, t, manifest, workers, dataset.Shard{})
}

// EvaluateShard is Evaluate on the manifest rows of one shard. The counts
// of the shards' results (utterances, audio seconds, word and character
// errors, too short clips) sum to the whole manifest's.
func EvaluateShard(ctx context.Context, t *Transcriber, manifest string, workers int, shard dataset.Shard) (*EvalResult, error) {
	man, err := dataset.ReadManifest(manifest)
	if err != nil {
		return nil, err
	}
	wrd, ltr, err := references(manifest)
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type outcome struct {
		hyp     string
		seconds float64
		short   bool
		err     error
	}
	rows := shard.Indices(len(man.Entries))
	outs := make([]outcome, len(man.Entries))
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(len(rows), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, err := transcribeFile(t, man.FullPath(i))
				switch {
				case errors.Is(err, ErrTooShortAudio):
					outs[i].short = true
					outs[i].seconds = r.Duration
				case err != nil:
					outs[i].err = fmt.Errorf("asr: %s line %d: %w", manifest, man.Line(i), err)
				}
				outs[i].seconds, outs[i].hyp = r.Duration, r.Text
			}
		}()
	}
feed:
	for _, i := range rows {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res := &EvalResult{Utterances: len(rows)}
	fold := t.m.lowercase()
	var errs []error
	for _, i := range rows {
		o := outs[i]
		if o.err != nil {
			errs = append(errs, o.err)
			continue
		}
		res.AudioSeconds += o.seconds
		if o.short {
			res.TooShort++
		}
		ref, refChars, hyp := wrd[i], ltr[i], o.hyp
		if fold {
			ref, refChars, hyp = strings.ToUpper(ref), strings.ToUpper(refChars), strings.ToUpper(hyp)
		}
		res.Words.Add(wer.WordErrors(ref, hyp))
		res.Chars.Add(wer.CharErrors(refChars, hyp))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	res.WER, res.CER = wer.CorpusRate(res.Words), wer.CorpusRate(res.Chars)
	if res.AudioSeconds > 0 {
		res.RTF = time.Since(start).Seconds() / res.AudioSeconds
	}
	return res, nil
}

// transcribeFile transcribes the WAV file at path in memory bounded by a
// window (see Stream). Errors name the path; audio too short for the model
// gives its duration with an error wrapping ErrTooShortAudio.
func transcribeFile(t *Transcriber, path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close() // read-only: Close loses nothing
	res := Result{}
	res.Duration, err = t.Stream(f, collect(&res))
	if errors.Is(err, ErrTooShortAudio) {
		return Result{Duration: res.Duration}, err
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// lowercase reports whether the model spells in lowercase only: some
// symbol has a lowercase letter and none an uppercase one.
func (m *Model) lowercase() bool {
	lower := false
	for _, s := range m.symbols {
		if strings.ToUpper(s) != s {
			lower = true
		}
		if strings.ToLower(s) != s {
			return false
		}
	}
	return lower
}

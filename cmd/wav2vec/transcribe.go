package main

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/audio"
)

// decodeFlags are the decoding flags of transcribe and eval.
type decodeFlags struct {
	beam      *int
	lm        *string
	lmWeight  *float64
	wordScore *float64
	lexicon   *string
	window    *float64
	overlap   *float64
}

// autoBeam is the beam width --beam 0 gives with an LM or a lexicon.
const autoBeam = asr.DefaultModelBeam

func addDecodeFlags(fs *flag.FlagSet, embedded bool) *decodeFlags {
	lmHelp := "word n-gram language model in the ARPA format, plain or gzipped (wav2vec lm or KenLM's lmplz writes it); none for no LM; default for the embedded model's 4-gram"
	lexHelp := "the words a transcript may use, one per line, plain or gzipped (the first field of each line; flashlight's lexicon files serve); none for no lexicon; default for the embedded model's"
	if embedded {
		lmHelp += ", which is used when no --model is given"
		lexHelp += ", which is used when no --model is given"
	}
	return &decodeFlags{
		beam:      fs.Int("beam", 0, fmt.Sprintf("beam width of the CTC prefix beam search; 0: greedy decoding without an LM or a lexicon, %d with; 1: greedy", autoBeam)),
		lm:        fs.String("lm", "", lmHelp),
		lmWeight:  fs.Float64("lm-weight", asr.DefaultModelLMWeight, "weight of the LM's natural-log probabilities"),
		wordScore: fs.Float64("word-score", 0, "score added per word (positive favours more words)"),
		lexicon:   fs.String("lexicon", "", lexHelp),
		window:    fs.Float64("window", asr.DefaultWindowSeconds, "longest audio, in seconds, the network sees at once; longer files go in overlapping windows"),
		overlap:   fs.Float64("overlap", asr.DefaultOverlapSeconds, "overlap of consecutive windows, in seconds (at least the context network's receptive field)"),
	}
}

// check returns a usage problem with the decoding flags, or "".
func (d *decodeFlags) check() string {
	switch {
	case *d.beam < 0:
		return "--beam must not be negative"
	case !(*d.window > 0) || !(*d.overlap > 0):
		return "--window and --overlap must be positive"
	}
	return ""
}

// transcriber loads the LM and lexicon (if any) and makes a Transcriber for
// m; embedded says m is the embedded default model, whose LM and lexicon
// then serve unless the flags name others.
func (d *decodeFlags) transcriber(m *asr.Model, embedded bool) (*asr.Transcriber, error) {
	opt := asr.Options{Beam: *d.beam, LMWeight: *d.lmWeight, WordScore: *d.wordScore, WindowSeconds: *d.window, OverlapSeconds: *d.overlap}
	// The embedded LM and lexicon serve when named, or by default for the
	// embedded model.
	defLM := *d.lm == "default" || *d.lm == "" && embedded
	defLex := *d.lexicon == "default" || *d.lexicon == "" && embedded
	var def asr.Options
	if defLM || defLex {
		var err error
		if def, err = asr.DefaultOptions(); err != nil {
			return nil, err
		}
		if def.LM == nil && (*d.lm == "default" || *d.lexicon == "default") {
			return nil, errors.New("no LM or lexicon is embedded in this build: give --lm and --lexicon files")
		}
	}
	switch *d.lm {
	case "none":
	case "", "default":
		if defLM {
			opt.LM = def.LM
		}
	default:
		lm, err := asr.ReadARPAFile(*d.lm)
		if err != nil {
			return nil, err
		}
		opt.LM = lm
	}
	switch *d.lexicon {
	case "none":
	case "", "default":
		if defLex && def.Lexicon != nil {
			opt.Lexicon = def.Lexicon
			if opt.LM != nil && opt.LM != def.LM {
				opt.Lexicon = opt.Lexicon.LookAhead(opt.LM)
			}
		}
	default:
		lex, err := asr.ReadLexiconFile(*d.lexicon)
		if err != nil {
			return nil, err
		}
		opt.Lexicon = lex
	}
	if opt.Beam == 0 && (opt.LM != nil || opt.Lexicon != nil) {
		opt.Beam = autoBeam
	}
	return asr.NewTranscriber(m, opt)
}

// loadModel reads a fine-tuned model, or the embedded default one for "".
func loadModel(path string) (*asr.Model, error) {
	if path == "" {
		return asr.DefaultModel()
	}
	return asr.Load(path)
}

func runTranscribe(e *env, args []string) int {
	fs := newFlags(e, "transcribe", "[--model CKPT] [--format txt|json|srt|vtt] [--beam N] [--lm FILE|default|none] [--lm-weight a] [--word-score b] [--lexicon FILE|default|none] FILE.wav... (- for stdin)")
	model := fs.String("model", "", "fine-tuned model (a checkpoint of wav2vec finetune); default: the model embedded in the binary")
	format := fs.String("format", "txt", "output: txt (one line per file), json (one object per file, with word times), srt or vtt (subtitles, word-timed cues); a file that fails gets only its error line on stderr")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "files transcribed at once")
	quiet := fs.Bool("q", false, "no summary line on stderr")
	dec := addDecodeFlags(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() == 0:
		return usageErr(e, fs, "no input files (use - for stdin)")
	case !slices.Contains(asr.Formats, *format):
		return usageErr(e, fs, "--format must be one of %s, not %q", strings.Join(asr.Formats, ", "), *format)
	case *workers < 1:
		return usageErr(e, fs, "--workers must be at least 1")
	case dec.check() != "":
		return usageErr(e, fs, "%s", dec.check())
	case countStdin(fs.Args()) > 1:
		return usageErr(e, fs, "- (stdin) may appear only once")
	}
	loadStart := time.Now()
	m, err := loadModel(*model)
	if err != nil {
		return fail(e, err)
	}
	tr, err := dec.transcriber(m, *model == "")
	if err != nil {
		return fail(e, err)
	}
	start := time.Now()
	loading := start.Sub(loadStart).Seconds()
	files := fs.Args()
	type result struct {
		r   asr.Result
		err error
	}
	results := make([]chan result, len(files))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(*workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, err := transcribeFile(e, tr, files[i])
				results[i] <- result{r, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-e.ctx.Done():
				for j := i; j < len(files); j++ {
					results[j] <- result{err: e.ctx.Err()}
				}
				return
			}
		}
	}()
	code := exitOK
	var seconds float64
	for i, name := range files {
		res := <-results[i]
		if res.err != nil {
			fileError(e, displayName(name), res.err)
			code = exitFail
			continue
		}
		seconds += res.r.Duration
		if err := asr.WriteResult(e.stdout, *format, displayName(name), res.r); err != nil {
			wg.Wait()
			return fail(e, err)
		}
	}
	wg.Wait()
	if !*quiet {
		elapsed := time.Since(start).Seconds()
		fmt.Fprintf(e.stderr, "wav2vec: transcribed %.1f s of audio in %.1f s (%.1f x realtime), after %.1f s loading the model and decoder\n",
			seconds, elapsed, seconds/max(elapsed, 1e-9), loading)
	}
	return code
}

// fileError prints one line about a failed input, naming it once.
func fileError(e *env, name string, err error) {
	if strings.Contains(err.Error(), name) {
		fmt.Fprintf(e.stderr, "wav2vec: %v\n", err)
		return
	}
	fmt.Fprintf(e.stderr, "wav2vec: %s: %v\n", name, err)
}

// countStdin counts the "-" arguments.
func countStdin(files []string) int {
	n := 0
	for _, f := range files {
		if f == "-" {
			n++
		}
	}
	return n
}

// displayName names an input in messages and outputs.
func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

// transcribeFile reads one input (a WAV file, or stdin for "-").
func transcribeFile(e *env, tr *asr.Transcriber, name string) (asr.Result, error) {
	var x []float32
	var err error
	if name == "-" {
		x, _, err = audio.Decode(e.stdin)
	} else {
		x, err = audio.ReadFile(name)
	}
	if err != nil {
		return asr.Result{}, err
	}
	return tr.Transcribe(x)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/ctc"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/published"
)

// decodeFlags are the decoding flags of transcribe and eval.
type decodeFlags struct {
	beam      *int
	lm        *string
	lmWeight  *float64
	wordScore *float64
	tokenThr  *float64
	lexicon   *string
	window    *float64
	overlap   *float64
}

// autoBeam is the beam width --beam 0 gives with an LM or a lexicon.
const autoBeam = defaultmodel.Beam

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
		lmWeight:  fs.Float64("lm-weight", defaultmodel.LMWeight, "weight of the LM's natural-log probabilities"),
		wordScore: fs.Float64("word-score", 0, "score added per word (positive favours more words)"),
		tokenThr:  fs.Float64("token-threshold", ctc.DefaultTokenThreshold, "the beam search tries at each frame only the symbols whose log probability is within this of the frame's best (natural log); inf tries them all"),
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
	case !(*d.tokenThr > 0):
		return "--token-threshold must be positive"
	case !(*d.window > 0) || !(*d.overlap > 0):
		return "--window and --overlap must be positive"
	}
	return ""
}

// transcriber loads the LM and lexicon (if any) and makes a Transcriber for
// m; embedded says m is the embedded default model, whose LM and lexicon
// then serve unless the flags name others.
func (d *decodeFlags) transcriber(m *asr.Model, embedded bool) (*asr.Transcriber, error) {
	opt := asr.Options{Beam: *d.beam, LMWeight: *d.lmWeight, WordScore: *d.wordScore, TokenThreshold: *d.tokenThr, WindowSeconds: *d.window, OverlapSeconds: *d.overlap}
	// The embedded LM and lexicon serve when named, or by default for the
	// embedded model.
	defLM := *d.lm == "default" || *d.lm == "" && embedded
	defLex := *d.lexicon == "default" || *d.lexicon == "" && embedded
	var def asr.Options
	if defLM || defLex {
		var err error
		if def, err = defaultmodel.Options(); err != nil {
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
		model, err := lm.ReadARPAFile(*d.lm)
		if err != nil {
			return nil, err
		}
		opt.LM = model
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
		lex, err := lm.ReadLexiconFile(*d.lexicon)
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

// loadModel reads a recogniser: the embedded default model for "", a
// published model for a Hugging Face folder, hf:OWNER/NAME (from the
// Hugging Face cache, downloaded there first unless HF_HUB_OFFLINE=1) or a
// fairseq .pt file, else a checkpoint of wav2vec finetune.
func loadModel(e *env, path string) (*asr.Model, error) {
	if path == "" {
		m, err := defaultmodel.Model()
		if errors.Is(err, defaultmodel.ErrNoModel) {
			return nil, fmt.Errorf("%w; pass --model", err)
		}
		return m, err
	}
	dir, err := publishedPath(e, path)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		pm, err := loadPublished(e, dir)
		if err != nil {
			return nil, err
		}
		// Reading the file took two more copies of the weights: give them
		// back before the work starts.
		defer debug.FreeOSMemory()
		return asr.FromPublished(pm)
	}
	return asr.Load(path)
}

// publishedPath returns the file or folder of a published model named by
// path (a folder, hf:OWNER/NAME, downloaded into the Hugging Face cache if
// missing and not HF_HUB_OFFLINE=1, or a fairseq .pt file), or "" when
// path names the toolkit's own checkpoint.
func publishedPath(e *env, path string) (string, error) {
	if name, ok := strings.CutPrefix(path, "hf:"); ok {
		dir, err := published.ResolveCached(name)
		if err != nil && !published.Offline() {
			dir, err = published.Download(e.ctx, name, e.stderr)
		}
		return dir, err
	}
	if published.IsPath(path) {
		return path, nil
	}
	return "", nil
}

// loadPublished reads a published model and says on stderr which of its
// tensors it ignores (a pretraining model's quantizer, for example).
func loadPublished(e *env, path string) (*published.Model, error) {
	pm, err := published.Load(path)
	if err != nil {
		return nil, err
	}
	if n := len(pm.Unused); n > 0 {
		names := pm.Unused[:min(n, 4)]
		more := ""
		if n > len(names) {
			more = fmt.Sprintf(" and %d more", n-len(names))
		}
		fmt.Fprintf(e.stderr, "wav2vec: %s: ignored %d tensors the model does not use: %s%s\n", path, n, strings.Join(names, ", "), more)
	}
	return pm, nil
}

// modelHelp describes what --model takes.
const modelHelp = "a checkpoint of wav2vec finetune, a Hugging Face model folder (Wav2Vec2ForCTC, HubertForCTC: config.json, model.safetensors or pytorch_model.bin, vocab.json), hf:OWNER/NAME from the Hugging Face cache (downloaded into it if missing), or a fine-tuned fairseq .pt file (dict.ltr.txt beside it)"

func runTranscribe(e *env, args []string) int {
	fs := newFlags(e, "transcribe", "[--model CKPT] [--format txt|json|srt|vtt] [--output-dir DIR] [--beam N] [--lm FILE|default|none] [--lm-weight a] [--word-score b] [--token-threshold T] [--lexicon FILE|default|none] [--shard K/N] FILE.wav... (- for stdin)")
	model := fs.String("model", "", "recogniser: "+modelHelp+"; default: the model embedded in the binary")
	format := fs.String("format", "txt", "output: txt (one line per file, NAME<TAB>TEXT when there are several), json (one object per file, with word times), srt or vtt (subtitles, word-timed cues; several files need --output-dir); a file that fails gets only its error line on stderr")
	outDir := fs.String("output-dir", "", "write each file's transcript to DIR/NAME.FORMAT (NAME: the file's name without its extension; stdin for -) instead of stdout")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "files transcribed at once")
	quiet := fs.Bool("q", false, "no summary line on stderr")
	shard := shardFlag(fs, "input files")
	dec := addDecodeFlags(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	files := sharded(fs.Args(), *shard)
	// Several inputs are named in the output, whatever part of them the
	// shard takes, so that the shards' outputs concatenate into the
	// whole's.
	several := fs.NArg() > 1
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
	case *outDir == "" && several && (*format == asr.FormatSRT || *format == asr.FormatVTT):
		return usageErr(e, fs, "--format %s makes one document per file: with several files, give --output-dir", *format)
	}
	if len(files) == 0 {
		return exitOK // a shard of fewer inputs than shards
	}
	var outPaths []string
	if *outDir != "" {
		var problem string
		if outPaths, problem = outputPaths(*outDir, fs.Args(), *format); problem != "" {
			return usageErr(e, fs, "%s", problem)
		}
		outPaths = sharded(outPaths, *shard)
	}
	loadStart := time.Now()
	m, err := loadModel(e, *model)
	if err != nil {
		return fail(e, err)
	}
	tr, err := dec.transcriber(m, *model == "")
	if errors.Is(err, asr.ErrOptions) {
		return usageErr(e, fs, "%v", err)
	}
	if err != nil {
		return fail(e, err)
	}
	start := time.Now()
	loading := start.Sub(loadStart).Seconds()

	// Each file's output goes to its own spool (or file); the spools are
	// copied to stdout in the order of the files, each as soon as it grows.
	spools := make([]*spool, len(files))
	for i := range spools {
		spools[i] = newSpool()
	}
	durations := make([]float64, len(files))
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(*workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var err error
				if outPaths != nil {
					var terr error
					err = writeFileAtomic(outPaths[i], func(w io.Writer) error {
						durations[i], terr = transcribeTo(ctx, e, tr, files[i], w, *format, false)
						return terr
					})
					if terr != nil {
						err = terr
					}
				} else {
					durations[i], err = transcribeTo(ctx, e, tr, files[i], spools[i], *format, several)
				}
				spools[i].close(err)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					spools[j].close(ctx.Err())
				}
				return
			}
		}
	}()
	code := exitOK
	var seconds float64
	for i, name := range files {
		err, werr := spools[i].drain(e.stdout)
		if werr != nil {
			cancel()
			wg.Wait()
			return fail(e, werr)
		}
		if err != nil {
			fileError(e, displayName(name), err)
			code = exitFail
			continue
		}
		seconds += durations[i]
	}
	wg.Wait()
	if !*quiet {
		elapsed := time.Since(start).Seconds()
		fmt.Fprintf(e.stderr, "wav2vec: transcribed %.1f s of audio in %.1f s (%.1f x realtime), after %.1f s loading the model and decoder\n",
			seconds, elapsed, seconds/max(elapsed, 1e-9), loading)
	}
	return code
}

// outputPaths returns DIR/NAME.FORMAT for each input, or a problem: two
// inputs with the same name, or a folder that cannot be made.
func outputPaths(dir string, files []string, format string) ([]string, string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Sprintf("--output-dir: %v", err)
	}
	paths := make([]string, len(files))
	seen := map[string]string{}
	for i, f := range files {
		base := "stdin"
		if f != "-" {
			base = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		}
		paths[i] = filepath.Join(dir, base+"."+format)
		if other, ok := seen[paths[i]]; ok {
			return nil, fmt.Sprintf("%s and %s would both be written to %s", other, displayName(f), paths[i])
		}
		seen[paths[i]] = displayName(f)
	}
	return paths, ""
}

// transcribeTo transcribes one input (a WAV file, or stdin for "-") into w
// in format, segment by segment, and returns its duration in seconds. named
// puts the input's name and a tab before a txt line.
func transcribeTo(ctx context.Context, e *env, tr *asr.Transcriber, name string, w io.Writer, format string, named bool) (float64, error) {
	r, done, err := openInput(e, name)
	if err != nil {
		return 0, err
	}
	defer done()
	tw, err := asr.NewWriter(w, format, displayName(name))
	if err != nil {
		return 0, err
	}
	first := true
	d, err := tr.Stream(r, func(s asr.Segment) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if first && named && format == asr.FormatTXT {
			if _, err := fmt.Fprintf(w, "%s\t", displayName(name)); err != nil {
				return err
			}
		}
		first = false
		return tw.WriteSegment(s)
	})
	if err != nil {
		return 0, err
	}
	if first && named && format == asr.FormatTXT {
		if _, err := fmt.Fprintf(w, "%s\t", displayName(name)); err != nil {
			return 0, err
		}
	}
	return d, tw.Close(d)
}

// openInput opens a WAV input for reading more than once: a file, or stdin
// when it is seekable, or else a copy of stdin in a temporary file (removed
// by done), so that memory stays bounded whatever its length.
func openInput(e *env, name string) (r io.ReadSeeker, done func(), err error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil // read-only: Close loses nothing
	}
	if rs, ok := e.stdin.(io.ReadSeeker); ok {
		if _, err := rs.Seek(0, io.SeekCurrent); err == nil {
			return rs, func() {}, nil
		}
	}
	tmp, err := os.CreateTemp("", "wav2vec-stdin-*.wav")
	if err != nil {
		return nil, nil, fmt.Errorf("<stdin>: copying to a temporary file: %w", err)
	}
	done = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	if _, err := io.Copy(tmp, e.stdin); err != nil {
		done()
		return nil, nil, fmt.Errorf("<stdin>: copying to %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		done()
		return nil, nil, err
	}
	return tmp, done, nil
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

// spool holds one input's output until it is copied out; Write never
// blocks, so a worker need not wait for the inputs before its own.
type spool struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	done bool
	err  error
}

func newSpool() *spool {
	s := &spool{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	s.cond.Broadcast()
	return len(p), nil
}

// close marks the output complete; err is the input's failure, if any.
func (s *spool) close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done, s.err = true, err
	s.cond.Broadcast()
}

// drain copies the output to w as it comes until the spool is closed, and
// returns the input's error and w's.
func (s *spool) drain(w io.Writer) (err, werr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.buf) == 0 && !s.done {
			s.cond.Wait()
		}
		if len(s.buf) > 0 {
			b := s.buf
			s.buf = nil
			s.mu.Unlock()
			_, werr = w.Write(b)
			s.mu.Lock()
			if werr != nil {
				return nil, werr
			}
			continue
		}
		return s.err, nil
	}
}

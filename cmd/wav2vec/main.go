// Command wav2vec pretrains speech representations on unlabeled audio,
// fine-tunes a CTC recogniser on a small labeled set, and transcribes WAV
// files offline. Run `wav2vec help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the work failed
	exitUsage = 2 // the command line was wrong
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(env *env, args []string) int
}

// env is what a subcommand sees of the process.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"manifest", "write a fairseq manifest (.tsv) for a folder of audio", runManifest},
		{"pretrain", "pretrain the encoder and context network on unlabeled audio", runPretrain},
		{"finetune", "fine-tune a CTC recogniser on labeled audio", runFinetune},
		{"eval", "word and character error rates of a model on a labeled manifest", runEval},
		{"transcribe", "transcribe WAV files (embedded default model unless --model)", runTranscribe},
		{"extract", "write z, c or q features of WAV files as .npy", runExtract},
		{"export", "write a fine-tuned model as an ONNX graph (audio -> CTC log-probabilities)", runExport},
		{"convert", "write a model as a toolkit checkpoint, or a transformer model as a Hugging Face folder (--to hf)", runConvert},
		{"probe", "linear frame-letter probe of a pretrained model's features", runProbe},
		{"lm", "build a word n-gram language model (ARPA) from text for --lm", runLM},
		{"plot", "draw learning curves from metrics.jsonl files as a PNG", runPlot},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Getenv("WAV2VEC_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(dist.Finish(code))
}

// startProfile writes a CPU profile of the whole run to path (for
// developers: WAV2VEC_CPUPROFILE=cpu.out wav2vec ...; read it with go tool
// pprof). An empty path profiles nothing.
func startProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wav2vec: WAV2VEC_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "wav2vec: WAV2VEC_CPUPROFILE: %v\n", err)
		}
	}
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "wav2vec: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wav2vec <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'wav2vec <command> -h' for a command's flags.")
}

// newFlags returns a flag set for a subcommand that reports errors instead
// of exiting and prints its usage with every default.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wav2vec %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; ok is false when the caller should return code.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false
	}
	return exitOK, true
}

// usageErr prints a usage error for the subcommand and returns exitUsage.
func usageErr(e *env, fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "wav2vec %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

// newLogger returns the logger of the training commands' warnings and
// notes, on stderr.
func newLogger(e *env) *slog.Logger { return slog.New(slog.NewTextHandler(e.stderr, nil)) }

// fail prints an error and returns exitFail.
func fail(e *env, err error) int {
	fmt.Fprintf(e.stderr, "wav2vec: %v\n", err)
	return exitFail
}

// writeFileAtomic writes path through a temporary file beside it, renamed
// into place once complete, so that a failed write leaves what was there.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	err := atomicfile.Write(path, func(f *os.File) error { return write(f) })
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

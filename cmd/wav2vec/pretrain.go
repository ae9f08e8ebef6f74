package main

import (
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/train"
)

func runPretrain(e *env, args []string) int {
	fs := newFlags(e, "pretrain", "--train T.tsv [--valid V.tsv] --out DIR [--config tiny|base|FILE.json] [--max-steps N] [--seed N] [--resume] [-q]")
	trainPath := fs.String("train", "", "training manifest (.tsv) (required)")
	validPath := fs.String("valid", "", "validation manifest; checkpoint_best is chosen by its loss")
	out := fs.String("out", "", "output folder for checkpoints and metrics.jsonl (required)")
	config := fs.String("config", "tiny", `model and training settings: tiny, base, or a JSON file {"encoder": {...}, "quantizer": {...}, "pretrain": {...}} (missing parts are tiny's)`)
	maxSteps := fs.Int("max-steps", 0, "updates to run (0: the config's)")
	seed := fs.Uint64("seed", 1, "random seed (initialisation, data order, masks)")
	resume := fs.Bool("resume", false, "continue from DIR/checkpoint_last.safetensors (its config is used)")
	quiet := fs.Bool("q", false, "no progress line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *trainPath == "":
		return usageErr(e, fs, "--train is required")
	case *out == "":
		return usageErr(e, fs, "--out is required")
	case *maxSteps < 0:
		return usageErr(e, fs, "--max-steps must not be negative")
	case fs.NArg() > 0:
		return usageErr(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	var cfg pretrain.FullConfig
	if !*resume {
		var err error
		if cfg, err = pretrain.ConfigByName(*config); err != nil {
			return fail(e, err)
		}
	}
	res, err := pretrain.Run(e.ctx, pretrain.Options{
		Train: *trainPath, Valid: *validPath, Out: *out, Config: cfg, Seed: *seed,
		MaxSteps: *maxSteps, Resume: *resume, Progress: e.stderr, Quiet: *quiet, Log: newLogger(e),
	})
	if err != nil {
		return fail(e, err)
	}
	if res.Interrupted {
		fmt.Fprintf(e.stderr, "wav2vec: interrupted at step %d; saved %s (continue with --resume)\n", res.Steps, train.LastPath(*out))
		return exitOK
	}
	best := ""
	if !math.IsNaN(res.BestValid) {
		best = fmt.Sprintf(", best validation loss %.4f in %s", res.BestValid, train.BestPath(*out))
	}
	fmt.Fprintf(e.stderr, "wav2vec: %d steps done (%d updates skipped, %d utterances skipped); saved %s%s\n",
		res.Steps, res.SkippedUpdates, res.SkippedUtts, train.LastPath(*out), best)
	return exitOK
}

package main

import (
	"flag"
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/train"
)

func runPretrain(e *env, args []string) int {
	fs := newFlags(e, "pretrain", "--train T.tsv [--valid V.tsv] --out DIR [--config tiny|base|tiny-transformer|base-transformer|tiny-data2vec|tiny-transformer-data2vec|FILE.json] [--init MODEL] [--max-steps N] [--seed N] [--resume] [-q]")
	trainPath := fs.String("train", "", "training manifest (.tsv) (required)")
	validPath := fs.String("valid", "", "validation manifest; checkpoint_best is chosen by its loss")
	out := fs.String("out", "", "output folder for checkpoints and metrics.jsonl (required)")
	config := fs.String("config", "tiny", `model and training settings: tiny, base, tiny-transformer, base-transformer, tiny-data2vec, tiny-transformer-data2vec (data2vec's teacher targets), or a JSON file {"encoder": {...} or "transformer": {...}, "quantizer": {...}, "pretrain": {...}} (missing parts are tiny's, or tiny-transformer's)`)
	maxSteps := fs.Int("max-steps", 0, "updates to run (0: the config's)")
	seed := fs.Uint64("seed", 1, "random seed (initialisation, data order, masks)")
	resume := fs.Bool("resume", false, "continue from DIR/checkpoint_last.safetensors (its config is used)")
	init := fs.String("init", "", "continue pretraining this model: a published wav2vec 2.0 pretraining checkpoint (a Wav2Vec2ForPreTraining folder, hf:OWNER/NAME, a fairseq pretraining .pt; with data2vec's teacher targets in --config, any published body) or a pretraining checkpoint; its network is used, with --config's \"pretrain\" settings when --config is given (default: fairseq BASE's losses at lr 5e-5 for 2000 updates for a published model, the checkpoint's own settings otherwise)")
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
	case *resume && *init != "":
		return usageErr(e, fs, "--resume continues DIR's own run; --init starts a new one from a model: give one")
	}
	var cfg pretrain.FullConfig
	configGiven := false
	fs.Visit(func(f *flag.Flag) { configGiven = configGiven || f.Name == "config" })
	if *init != "" {
		path, err := publishedPath(e, *init)
		if err != nil {
			return fail(e, err)
		}
		if path != "" {
			*init = path
		}
	}
	if !*resume && (*init == "" || configGiven) {
		var err error
		if cfg, err = pretrain.ConfigByName(*config); err != nil {
			return fail(e, err)
		}
	}
	comm, err := joinJob()
	if err != nil {
		return fail(e, err)
	}
	res, err := pretrain.Run(e.ctx, pretrain.Options{
		Train: *trainPath, Valid: *validPath, Out: *out, Config: cfg, Seed: *seed,
		MaxSteps: *maxSteps, Resume: *resume, Init: *init, Progress: e.stderr, Quiet: *quiet, Log: newLogger(e),
		Comm: comm,
	})
	if err != nil {
		return fail(e, err)
	}
	if comm.Rank() != 0 {
		return exitOK // rank 0 reports
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

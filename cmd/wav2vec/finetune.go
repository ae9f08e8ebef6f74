package main

import (
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/train"
)

func runFinetune(e *env, args []string) int {
	fs := newFlags(e, "finetune", "--init CKPT|default|scratch|logmel --train T.tsv --valid V.tsv --out DIR [--max-steps N] [--seed N] [--resume] [flags]")
	initFlag := fs.String("init", "", "starting point (required unless --resume): a pretraining checkpoint (its encoder.* tensors and config; "+
		"the conv feature encoder stays frozen unless --train-features, the whole body for --freeze-steps), "+
		"a fine-tuned model (all of it trains on, with its own letters and a new optimiser and schedule: adaptation to your data; "+
		"one fine-tuned from a pretraining checkpoint keeps its conv feature encoder frozen unless --train-features), "+
		"\"default\" (the embedded default model, likewise), "+
		"\"scratch\" (the same network with random weights; nothing is frozen, the feature encoder trains too, since random frozen convolutions would be an unfair baseline) "+
		"or \"logmel\" (the same context network and head on 80-bin log-mel features; nothing is frozen)")
	trainPath := fs.String("train", "", "training manifest (.tsv) with NAME.ltr beside it (required)")
	validPath := fs.String("valid", "", "validation manifest with NAME.ltr beside it (required); checkpoint_best has the lowest validation CER")
	out := fs.String("out", "", "output folder for checkpoints and metrics.jsonl (required)")
	config := fs.String("config", "tiny", "network for scratch and logmel: tiny, base, or an encoder JSON file")
	vocabPath := fs.String("vocab", "", "fairseq dict.ltr.txt listing the output letters (default: | ' A-Z)")
	maxSteps := fs.Int("max-steps", asr.DefaultFinetuneSteps, "updates to run; the learning-rate schedule spans them")
	seed := fs.Uint64("seed", 1, "random seed (head initialisation, batch order, masks, dropout)")
	resume := fs.Bool("resume", false, "continue from DIR/checkpoint_last.safetensors: weights, optimiser, step, data position, random state and the run's settings (flags given again override them; --max-steps extends the run)")
	lr := fs.Float64("lr", asr.DefaultFinetuneLR, "peak learning rate of the tri-stage schedule (10% warm-up from 1% of it, 40% hold, 50% exponential decay to 5%)")
	freeze := fs.Int("freeze-steps", 0, "pretrained init only: first updates in which only the head learns (0: none)")
	trainFeat := fs.Bool("train-features", false, "pretrained init only: the conv feature encoder learns too (after --freeze-steps) (default: frozen throughout, as in fairseq)")
	bodyLR := fs.Float64("body-lr-scale", 1, "pretrained init only: the encoder and context network learn at this fraction of --lr, the new head at the full rate")
	batchSec := fs.Float64("batch-seconds", asr.DefaultBatchSeconds, "padded audio per batch, in seconds")
	validEvery := fs.Int("valid-every", asr.DefaultValidEvery, "updates between validations (and one at the end)")
	logEvery := fs.Int("log-every", asr.DefaultLogEvery, "updates between metrics.jsonl lines")
	maskProb := fs.Float64("mask-prob", asr.DefaultMaskProb, "probability that a frame starts a masked span, as augmentation (0: no masking)")
	maskLen := fs.Int("mask-length", asr.DefaultMaskLength, "masked span length in frames (10 ms each)")
	vtlp := fs.Float64("vtlp", 0, "log-mel input only: vocal tract length perturbation, each training utterance's mel filters warped by a factor drawn from 1-x to 1+x (0: none; at most 0.2)")
	clip := fs.Float64("clip-norm", asr.DefaultClipNorm, "largest global gradient norm (0: no clipping)")
	saveEvery := fs.Duration("save-every", 10*time.Minute, "time between checkpoint_last saves")
	quiet := fs.Bool("q", false, "no progress line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *resume && *out != "" {
		// Go on as the run was started: its recorded settings, except
		// where a flag on this command line says otherwise.
		if s, ok := asr.LastRunSettings(*out); ok {
			given := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
			keep := func(name string, set func()) {
				if !given[name] {
					set()
				}
			}
			keep("max-steps", func() { *maxSteps = s.MaxSteps })
			keep("lr", func() { *lr = s.LR })
			keep("freeze-steps", func() { *freeze = s.FreezeSteps })
			keep("train-features", func() { *trainFeat = s.TrainFeatures })
			keep("body-lr-scale", func() { *bodyLR = s.BodyLRScale })
			keep("batch-seconds", func() { *batchSec = s.BatchSeconds })
			keep("mask-prob", func() { *maskProb = s.MaskProb })
			keep("mask-length", func() { *maskLen = s.MaskLength })
			keep("vtlp", func() { *vtlp = s.VTLP })
			keep("clip-norm", func() { *clip = s.ClipNorm })
		}
	}
	switch {
	case *initFlag == "" && !*resume:
		return usageErr(e, fs, "--init is required: a pretraining checkpoint, a fine-tuned model, default, scratch or logmel")
	case *trainPath == "":
		return usageErr(e, fs, "--train is required")
	case *validPath == "":
		return usageErr(e, fs, "--valid is required")
	case *out == "":
		return usageErr(e, fs, "--out is required")
	case *maxSteps < 1:
		return usageErr(e, fs, "--max-steps must be at least 1")
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageErr(e, fs, "--lr must be positive")
	case !(*bodyLR > 0) || math.IsInf(*bodyLR, 0):
		return usageErr(e, fs, "--body-lr-scale must be positive")
	case !(*batchSec > 0):
		return usageErr(e, fs, "--batch-seconds must be positive")
	case *validEvery < 1 || *logEvery < 1:
		return usageErr(e, fs, "--valid-every and --log-every must be at least 1")
	case !(*maskProb >= 0 && *maskProb <= 1):
		return usageErr(e, fs, "--mask-prob is a probability between 0 and 1")
	case *maskLen < 1:
		return usageErr(e, fs, "--mask-length must be at least 1")
	case !(*vtlp >= 0 && *vtlp <= asr.MaxVTLP):
		return usageErr(e, fs, "--vtlp must be between 0 and %g", asr.MaxVTLP)
	case !(*clip >= 0):
		return usageErr(e, fs, "--clip-norm must not be negative")
	case fs.NArg() > 0:
		return usageErr(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	cfg := asr.FinetuneConfig{
		Init: *initFlag, Train: *trainPath, Valid: *validPath, Out: *out,
		MaxSteps: *maxSteps, Seed: *seed, Resume: *resume, LR: *lr, FreezeSteps: *freeze, TrainFeatures: *trainFeat, BodyLRScale: *bodyLR,
		BatchSeconds: *batchSec, ValidEvery: *validEvery, LogEvery: *logEvery,
		MaskProb: *maskProb, MaskLength: *maskLen, VTLP: *vtlp, ClipNorm: *clip, SaveEvery: *saveEvery,
		Progress: e.stderr, Quiet: *quiet, Log: newLogger(e),
	}
	if cfg.MaskProb == 0 {
		cfg.MaskProb = -1 // the flag's 0 is "none", the config's 0 the default
	}
	if cfg.ClipNorm == 0 {
		cfg.ClipNorm = -1
	}
	if !*resume && (*initFlag == asr.InitScratch || *initFlag == asr.InitLogMel) {
		enc, err := encoder.ConfigByName(*config)
		if err != nil {
			return fail(e, err)
		}
		cfg.Encoder = enc
	}
	if !*resume && *initFlag == "default" {
		m, err := defaultmodel.New()
		if err != nil {
			return fail(e, err)
		}
		cfg.Init, cfg.InitModel = "", m
	}
	if *vocabPath != "" {
		v, err := dataset.ReadDict(*vocabPath)
		if err != nil {
			return fail(e, err)
		}
		cfg.Vocab = v
	}
	res, err := asr.Finetune(e.ctx, cfg)
	if err != nil {
		return fail(e, err)
	}
	if res.Interrupted {
		fmt.Fprintf(e.stderr, "wav2vec: interrupted at step %d; saved %s (continue with --resume)\n", res.Steps, train.LastPath(*out))
		return exitOK
	}
	fmt.Fprintf(e.stderr, "wav2vec: %d steps done (%d updates skipped, %d utterances skipped); saved %s\n",
		res.Steps, res.SkippedUpdates, res.SkippedUtts, train.LastPath(*out))
	fmt.Fprintf(e.stderr, "wav2vec: last validation: WER %.2f%%, CER %.2f%% on %d utterances; best model in %s\n",
		100*res.Valid.WER, 100*res.Valid.CER, res.Valid.Utterances, train.BestPath(*out))
	if res.BlankOnlyWarned {
		fmt.Fprintln(e.stderr, "wav2vec: the model emitted only blanks at some validation: raise --lr, shorten --freeze-steps or train more --max-steps")
	}
	return exitOK
}

package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/train"
)

func runFinetune(e *env, args []string) int {
	fs := newFlags(e, "finetune", "--init MODEL|CKPT|default|scratch|logmel --train T.tsv --valid V.tsv --out DIR [--max-steps N] [--seed N] [--resume] [flags]")
	initFlag := fs.String("init", "", "starting point (required unless --resume): a published model (a Hugging Face folder, hf:OWNER/NAME or a fairseq .pt file: "+
		"a pretrained body such as Wav2Vec2Model or HubertModel gets a new CTC head, a CTC model keeps its head when its letters cover the labels; "+
		"the transformer defaults apply: --lr 1e-4, --freeze-steps 10% of --max-steps, --mask-prob 0.65, --mask-channel-prob 0.25, --layerdrop 0.1, --activation-dropout 0.1), "+
		"a pretraining checkpoint (its encoder.* tensors and config; "+
		"the conv feature encoder stays frozen unless --train-features, the whole body for --freeze-steps), "+
		"a fine-tuned model (all of it trains on, with its own letters and a new optimiser and schedule: adaptation to your data; "+
		"one fine-tuned from a pretraining checkpoint keeps its conv feature encoder frozen unless --train-features), "+
		"\"default\" (the embedded default model, likewise), "+
		"\"scratch\" (the same network with random weights; nothing is frozen, the feature encoder trains too, since random frozen convolutions would be an unfair baseline) "+
		"or \"logmel\" (the same context network and head on 80-bin log-mel features; nothing is frozen)")
	trainPath := fs.String("train", "", "training manifest (.tsv) with NAME.ltr beside it (required)")
	validPath := fs.String("valid", "", "validation manifest with NAME.ltr beside it (required); checkpoint_best has the lowest validation CER")
	out := fs.String("out", "", "output folder for checkpoints and metrics.jsonl (required)")
	config := fs.String("config", "tiny", `network for scratch and logmel: tiny, base, tiny-transformer, base-transformer (scratch only), or a JSON file in pretrain's shape, {"encoder": {...}} or {"transformer": {...}} (missing fields are tiny's, or tiny-transformer's)`)
	vocabPath := fs.String("vocab", "", "fairseq dict.ltr.txt listing the output letters of a new head (default: a fine-tuned model's own when they cover the training labels, else | ' A-Z when they do, else the labels' own symbols)")
	resume := fs.Bool("resume", false, "continue from DIR/checkpoint_last.safetensors: weights, optimiser, step, data position, random state and the run's settings (flags given again override them; --max-steps extends the run)")
	cfg := asr.DefaultFinetuneConfig()
	settingsFlags(fs, &cfg.FinetuneSettings)
	fs.DurationVar(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "time between checkpoint_last saves")
	quiet := fs.Bool("q", false, "no progress line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	// The settings flags override a base: a resumed run's recorded
	// settings, or the defaults for the init's kind of body.
	override := func(base asr.FinetuneSettings) {
		recorded := flag.NewFlagSet("recorded", flag.ContinueOnError)
		settingsFlags(recorded, &base)
		fs.Visit(func(f *flag.Flag) {
			if recorded.Lookup(f.Name) != nil {
				recorded.Set(f.Name, f.Value.String()) // parsed once already: cannot fail
			}
		})
		cfg.FinetuneSettings = base
	}
	if *resume && *out != "" {
		if rec, ok := asr.LastFinetuneSettings(*out); ok {
			override(rec)
		}
	}
	if !*resume && *initFlag != "" && *initFlag != "default" {
		path, err := publishedPath(e, *initFlag)
		if err != nil {
			return fail(e, err)
		}
		if path != "" {
			*initFlag = path
		}
		base := asr.DefaultSettingsFor(*initFlag)
		override(base)
		// A default freeze is a share of the run: it scales with --max-steps.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if base.FreezeSteps > 0 && !set["freeze-steps"] {
			cfg.FreezeSteps = cfg.MaxSteps * base.FreezeSteps / base.MaxSteps
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
	case fs.NArg() > 0:
		return usageErr(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	cfg.Init, cfg.Train, cfg.Valid, cfg.Out, cfg.Resume = *initFlag, *trainPath, *validPath, *out, *resume
	cfg.Progress, cfg.Quiet, cfg.Log = e.stderr, *quiet, newLogger(e)
	if !*resume && (*initFlag == asr.InitScratch || *initFlag == asr.InitLogMel) {
		full, err := pretrain.ConfigByName(*config)
		if err != nil {
			if strings.Contains(err.Error(), "unknown field") {
				err = fmt.Errorf(`%w (finetune --config takes pretrain's shape: {"encoder": {...}})`, err)
			}
			return fail(e, err)
		}
		cfg.Encoder, cfg.Transformer = full.Encoder, full.Transformer
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
	if err := cfg.Validate(); err != nil {
		return settingsErr(e, fs, err)
	}
	comm, err := joinJob()
	if err != nil {
		return fail(e, err)
	}
	cfg.Comm = comm
	res, err := asr.Finetune(e.ctx, cfg)
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
	fmt.Fprintf(e.stderr, "wav2vec: %d steps done (%d updates skipped, %d utterances skipped); saved %s\n",
		res.Steps, res.SkippedUpdates, res.SkippedUtts, train.LastPath(*out))
	fmt.Fprintf(e.stderr, "wav2vec: last validation: WER %.2f%%, CER %.2f%% on %d utterances; best model in %s\n",
		100*res.Valid.WER, 100*res.Valid.CER, res.Valid.Utterances, train.BestPath(*out))
	if res.BlankOnlyWarned {
		fmt.Fprintln(e.stderr, "wav2vec: the model emitted only blanks at some validation: raise --lr, shorten --freeze-steps or train more --max-steps")
	}
	return exitOK
}

// settingsFlags defines the flags of the fine-tuning settings on fs: each
// defaults to s's value and is parsed into s.
func settingsFlags(fs *flag.FlagSet, s *asr.FinetuneSettings) {
	fs.IntVar(&s.MaxSteps, "max-steps", s.MaxSteps, "updates to run; the learning-rate schedule spans them")
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "random seed (head initialisation, batch order, masks, dropout)")
	fs.Float64Var(&s.LR, "lr", s.LR, "peak learning rate of the tri-stage schedule (10% warm-up from 1% of it, 40% hold, 50% exponential decay to 5%)")
	fs.IntVar(&s.FreezeSteps, "freeze-steps", s.FreezeSteps, "pretrained init only: first updates in which only the head learns (0: none)")
	fs.BoolVar(&s.TrainFeatures, "train-features", s.TrainFeatures, "pretrained init only: the conv feature encoder learns too (after --freeze-steps) (default: frozen throughout, as in fairseq)")
	fs.Float64Var(&s.BodyLRScale, "body-lr-scale", s.BodyLRScale, "pretrained init only: the encoder and context network learn at this fraction of --lr, the new head at the full rate")
	fs.Float64Var(&s.BatchSeconds, "batch-seconds", s.BatchSeconds, "padded audio per batch, in seconds")
	fs.IntVar(&s.ValidEvery, "valid-every", s.ValidEvery, "updates between validations (and one at the end)")
	fs.IntVar(&s.LogEvery, "log-every", s.LogEvery, "updates between metrics.jsonl lines")
	fs.Float64Var(&s.MaskProb, "mask-prob", s.MaskProb, "probability that a frame starts a masked span, as augmentation (0: no masking)")
	fs.IntVar(&s.MaskLength, "mask-length", s.MaskLength, "masked span length in frames")
	fs.Float64Var(&s.MaskChannelProb, "mask-channel-prob", s.MaskChannelProb, "probability that a channel starts a masked span, zeroed on every frame of the utterance (0: no channel masking)")
	fs.IntVar(&s.MaskChannelLength, "mask-channel-length", s.MaskChannelLength, "masked channel span length")
	fs.Float64Var(&s.LayerDrop, "layerdrop", s.LayerDrop, "transformer bodies only: probability that an update skips each transformer layer")
	fs.Float64Var(&s.ActivationDropout, "activation-dropout", s.ActivationDropout, "transformer bodies only: dropout after each feed-forward GELU")
	fs.Float64Var(&s.VTLP, "vtlp", s.VTLP, fmt.Sprintf("log-mel input only: vocal tract length perturbation, each training utterance's mel filters warped by a factor drawn from 1-x to 1+x (0: none; at most %g)", asr.MaxVTLP))
	fs.Float64Var(&s.ClipNorm, "clip-norm", s.ClipNorm, "largest global gradient norm (0: no clipping)")
}

// settingsErr reports the problems Validate found with the settings, each
// naming the flag of its setting (the flag is the setting's JSON key with
// dashes), and returns exitUsage.
func settingsErr(e *env, fs *flag.FlagSet, err error) int {
	msg := err.Error()
	var keys asr.FinetuneSettings
	names := flag.NewFlagSet("", flag.ContinueOnError)
	settingsFlags(names, &keys)
	names.VisitAll(func(f *flag.Flag) {
		msg = strings.ReplaceAll(msg, "asr: finetune: "+strings.ReplaceAll(f.Name, "-", "_")+" ", "--"+f.Name+" ")
	})
	fmt.Fprintf(e.stderr, "wav2vec %s: %s\n(wav2vec %s -h lists the flags)\n", fs.Name(), strings.ReplaceAll(msg, "\n", "\nwav2vec "+fs.Name()+": "), fs.Name())
	return exitUsage
}

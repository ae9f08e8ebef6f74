package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/ctc"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/probe"
)

// probeJSON is the --json output of probe.
type probeJSON struct {
	Model       float64  `json:"model"`
	Random      *float64 `json:"random,omitempty"`
	Majority    float64  `json:"majority"`
	TrainFrames int      `json:"train_frames"`
	TestFrames  int      `json:"test_frames"`
	Layer       string   `json:"layer"`
	Step        int      `json:"step"` // updates the checkpoint had done; -1 if it does not say
}

func runProbe(e *env, args []string) int {
	fs := newFlags(e, "probe", "--model CKPT --train T.tsv --test V.tsv [--layer z|c|q] [--baseline random] [--align FINETUNED] [--max-utts N] [--epochs N] [--seed N] [--json] [-q]\n\n"+
		"Trains a linear (softmax) classifier on frozen features of the --train frames to predict each\n"+
		"frame's letter, and reports its frame accuracy on the --test frames next to the majority-class\n"+
		"baseline (and, with --baseline random, next to the same probe on a randomly initialised model\n"+
		"of the same config). Labels come from the .ltr beside each manifest. With --align, a fine-tuned\n"+
		"model force-aligns each utterance's letters (with the | word boundaries) and every frame takes the\n"+
		"letter nearest to it in time, silence left out. Without it, the letters are spread evenly over the\n"+
		"speech frames, which is crude (long and short letters), so the accuracies are low in absolute\n"+
		"terms. Every probe faces the same targets, so the comparison is fair. A file that cannot be used is named\n"+
		"on stderr and left out; the results cover the rest and the exit status is 1.")
	model := fs.String("model", "", "pretraining checkpoint (.safetensors), or a published model: a Hugging Face folder, hf:OWNER/NAME or a fairseq .pt file (required)")
	trainPath := fs.String("train", "", "labeled manifest (.tsv, .ltr beside it) to train the probe on (required)")
	testPath := fs.String("test", "", "labeled manifest (.tsv, .ltr beside it) to score the probe on (required)")
	layer := fs.String("layer", "c", "features to probe: z (feature encoder), c (context network or transformer output), q (quantized; pretraining checkpoints) or N, a transformer layer (published models)")
	baseline := fs.String("baseline", "", `"random": also probe a model of the same config with fresh random weights (drawn from --seed as pretraining draws them)`)
	alignPath := fs.String("align", "", "fine-tuned model (.safetensors) whose CTC forced alignment gives the frame targets (default: letters spread evenly)")
	maxUtts := fs.Int("max-utts", 0, "use at most the first N utterances of each manifest (0: all)")
	epochs := fs.Int("epochs", 10, "passes of the probe over the training frames")
	lr := fs.Float64("lr", 0.01, "the probe's Adam step size (decayed linearly to 0)")
	seed := fs.Uint64("seed", 1, "random seed (the probe's data order; the random model's weights)")
	asJSON := fs.Bool("json", false, `print one JSON object: {"model", "random", "majority", "train_frames", "test_frames", "layer", "step"}`)
	quiet := fs.Bool("q", false, "no progress lines")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *model == "":
		return usageErr(e, fs, "--model is required")
	case *trainPath == "":
		return usageErr(e, fs, "--train is required")
	case *testPath == "":
		return usageErr(e, fs, "--test is required")
	case *baseline != "" && *baseline != "random":
		return usageErr(e, fs, `--baseline must be "random" or empty, not %q`, *baseline)
	case *maxUtts < 0:
		return usageErr(e, fs, "--max-utts must not be negative")
	case *epochs < 1:
		return usageErr(e, fs, "--epochs must be at least 1")
	case !(*lr > 0) || *lr > 1e3:
		return usageErr(e, fs, "--lr must be positive")
	case fs.NArg() > 0:
		return usageErr(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	type named struct {
		name string
		m    probe.Model
	}
	var models []named
	step := -1
	dir, err := publishedPath(e, *model)
	switch {
	case err != nil:
		return fail(e, err)
	case dir != "":
		pm, err := loadPublished(e, dir)
		if err != nil {
			return fail(e, err)
		}
		models = append(models, named{"model", pm})
		if *baseline == "random" {
			r, err := pm.Fresh(*seed)
			if err != nil {
				return fail(e, err)
			}
			models = append(models, named{"random", r})
		}
	default:
		if *layer != "z" && *layer != "c" && *layer != "q" {
			return usageErr(e, fs, "--layer must be z, c or q for a pretraining checkpoint, not %q", *layer)
		}
		m, s, err := pretrain.LoadModelStep(*model)
		if err != nil {
			return fail(e, err)
		}
		models, step = append(models, named{"model", m}), s
		if *baseline == "random" {
			r, err := m.Fresh(*seed)
			if err != nil {
				return fail(e, err)
			}
			models = append(models, named{"random", r})
		}
	}
	vocab := dataset.DefaultVocab()
	skipped := map[string]bool{}
	opt := probe.Data{
		Layer: *layer, Vocab: vocab, MaxUtts: *maxUtts,
		Skip: func(path string, err error) {
			if !skipped[path] { // each model meets the same bad files
				skipped[path] = true
				msg := err.Error()
				if !strings.Contains(msg, path) {
					msg = path + ": " + msg
				}
				fmt.Fprintf(e.stderr, "wav2vec: skipped %s\n", msg)
			}
		},
	}
	if *alignPath != "" {
		if opt.Targets, err = alignTargets(*alignPath, vocab, models[0].m.Hop()); err != nil {
			return fail(e, err)
		}
	}
	cfg := probe.DefaultConfig()
	cfg.Epochs, cfg.LR = *epochs, *lr
	results := make([]probe.Result, len(models))
	dim := 0
	for i, md := range models {
		sets := make([]*probe.Set, 2)
		for j, path := range []string{*trainPath, *testPath} {
			start := time.Now()
			s, err := probe.Load(e.ctx, md.m, path, opt)
			if err != nil {
				return fail(e, err)
			}
			if s.Frames() == 0 {
				return fail(e, fmt.Errorf("probe: %s: no usable utterance", path))
			}
			if !*quiet {
				fmt.Fprintf(e.stderr, "wav2vec: %s: %s: %d utterances, %d frames of %s (dim %d) in %.1f s\n",
					md.name, filepath.Base(path), s.Utterances, s.Frames(), *layer, s.Dim, time.Since(start).Seconds())
			}
			sets[j] = s
		}
		dim = sets[0].Dim
		start := time.Now()
		results[i], err = probe.Probe(sets[0], sets[1], vocab.Size(), cfg, rand.New(rand.NewPCG(*seed, 0x70726f6265)))
		if err != nil {
			return fail(e, err)
		}
		if !*quiet {
			fmt.Fprintf(e.stderr, "wav2vec: %s: probe trained in %.1f s\n", md.name, time.Since(start).Seconds())
		}
	}
	printProbe(e, results, dim, step, *layer, *asJSON, vocab)
	if len(skipped) > 0 {
		fmt.Fprintf(e.stderr, "wav2vec: %d files skipped; the results cover the rest\n", len(skipped))
		return exitFail
	}
	return exitOK
}

func printProbe(e *env, res []probe.Result, dim, step int, layer string, asJSON bool, vocab *dataset.Vocab) {
	r := res[0]
	if asJSON {
		out := probeJSON{Model: r.Accuracy, Majority: r.Majority, TrainFrames: r.TrainFrames, TestFrames: r.TestFrames, Layer: layer, Step: step}
		if len(res) > 1 {
			out.Random = &res[1].Accuracy
		}
		b, _ := json.Marshal(out) // plain numbers and strings: cannot fail
		fmt.Fprintf(e.stdout, "%s\n", b)
		return
	}
	stepText := "unknown step"
	if step >= 0 {
		stepText = fmt.Sprintf("step %d", step)
	}
	fmt.Fprintf(e.stdout, "linear probe of layer %s (dim %d): %d training frames, %d test frames, %d classes\n",
		layer, dim, r.TrainFrames, r.TestFrames, vocab.Size()-1)
	fmt.Fprintf(e.stdout, "%-22s test %6.2f%%   train %6.2f%%\n", "pretrained ("+stepText+")", 100*r.Accuracy, 100*r.TrainAccuracy)
	if len(res) > 1 {
		fmt.Fprintf(e.stdout, "%-22s test %6.2f%%   train %6.2f%%\n", "random init", 100*res[1].Accuracy, 100*res[1].TrainAccuracy)
	}
	fmt.Fprintf(e.stdout, "%-22s test %6.2f%%   (always %q)\n", "majority class", 100*r.Majority, vocab.Symbol(r.MajorityClass))
}

// alignTargets returns probe targets from the forced alignment of the
// fine-tuned model at path, whose vocabulary must be vocab's and whose
// frames must be hop samples apart, as the probed model's are.
func alignTargets(path string, vocab *dataset.Vocab, hop int) (func([]float32, int, []int) ([]int, error), error) {
	am, err := asr.Load(path)
	if err != nil {
		return nil, err
	}
	if am.Hop() != hop {
		return nil, fmt.Errorf("probe: --align %s: its frames are %d samples apart, the probed model's %d", path, am.Hop(), hop)
	}
	if !slices.Equal(am.Vocab.Symbols(), vocab.Symbols()) {
		return nil, fmt.Errorf("probe: --align %s: its vocabulary %q is not the probe's %q", path, am.Vocab.Symbols(), vocab.Symbols())
	}
	tr, err := asr.NewTranscriber(am, asr.Options{})
	if err != nil {
		return nil, err
	}
	return func(x []float32, frames int, symbols []int) ([]int, error) {
		lp, T, err := tr.LogProbs(x)
		if err != nil {
			return nil, err
		}
		tokens, _, err := ctc.Align(lp, T, am.Vocab.Size(), am.Vocab.Blank(), symbols)
		if err != nil {
			return nil, fmt.Errorf("forced alignment: %w", err)
		}
		if d := T - frames; d < -2 || d > 2 {
			return nil, fmt.Errorf("the aligning model gives %d frames, the probed one %d", T, frames)
		}
		y := ctc.FrameLabels(tokens, T)
		out := make([]int, frames)
		for t := range out { // the same frame rate; the ends may differ by a frame or two
			out[t] = y[min(t, T-1)]
		}
		return out, nil
	}, nil
}

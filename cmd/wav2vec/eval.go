package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

	"github.com/wav2vec-go/wav2vec/asr"
)

func runEval(e *env, args []string) int {
	fs := newFlags(e, "eval", "--model CKPT --data TEST.tsv [--json] [--beam N] [--lm FILE|default] [--lm-weight a] [--word-score b] [--token-threshold T] [--lexicon FILE|default] [--shard K/N]")
	model := fs.String("model", "", "recogniser: "+modelHelp+" (required)")
	data := fs.String("data", "", "manifest (.tsv) with NAME.wrd and/or NAME.ltr beside it (required)")
	asJSON := fs.Bool("json", false, `print one JSON object: {"wer", "cer", "utterances", "audio_seconds", "rtf", "word_errors", "char_errors", "too_short"}`)
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "files transcribed at once")
	shard := shardFlag(fs, "manifest's rows (--json's counts of the parts sum to the whole's)")
	dec := addDecodeFlags(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *model == "":
		return usageErr(e, fs, "--model is required")
	case *data == "":
		return usageErr(e, fs, "--data is required")
	case *workers < 1:
		return usageErr(e, fs, "--workers must be at least 1")
	case dec.check() != "":
		return usageErr(e, fs, "%s", dec.check())
	case fs.NArg() > 0:
		return usageErr(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	m, err := loadModel(e, *model)
	if err != nil {
		return fail(e, err)
	}
	tr, err := dec.transcriber(m, false)
	if errors.Is(err, asr.ErrOptions) {
		return usageErr(e, fs, "%v", err)
	}
	if err != nil {
		return fail(e, err)
	}
	res, err := asr.EvaluateShard(e.ctx, tr, *data, *workers, *shard)
	if err != nil {
		return fail(e, err)
	}
	if res.TooShort > 0 {
		fmt.Fprintf(e.stderr, "wav2vec: %d clips of %s are too short for the model and count as empty transcripts\n", res.TooShort, *data)
	}
	if *asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "WER %.2f%% (%d substitutions, %d deletions, %d insertions, %d words)\n",
		100*res.WER, res.Words.Sub, res.Words.Del, res.Words.Ins, res.Words.RefLen())
	fmt.Fprintf(e.stdout, "CER %.2f%% (%d substitutions, %d deletions, %d insertions, %d characters)\n",
		100*res.CER, res.Chars.Sub, res.Chars.Del, res.Chars.Ins, res.Chars.RefLen())
	fmt.Fprintf(e.stdout, "%d utterances, %.1f s of audio, real-time factor %.4f\n", res.Utterances, res.AudioSeconds, res.RTF)
	return exitOK
}

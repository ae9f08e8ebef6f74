package main

import (
	"fmt"
	"io"

	"github.com/wav2vec-go/wav2vec/asr"
)

func runExport(e *env, args []string) int {
	fs := newFlags(e, "export", "[--format onnx] [--caller-normalizes] [MODEL|default] OUT.onnx")
	format := fs.String("format", "onnx", "output format: onnx (opset 17; input \"audio\" float32 [batch, samples] at 16 kHz, output \"logits\" float32 [batch, frames, vocab]: log-softmax, blank at 0)")
	callerNorm := fs.Bool("caller-normalizes", false, "leave the per-utterance normalisation to zero mean and unit variance out of the graph: the caller feeds (x - mean) / sqrt(var + 1e-7) (default: the graph normalises each row, for models that normalise)")
	quiet := fs.Bool("q", false, "no summary line on stderr")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *format != "onnx" {
		return usageErr(e, fs, "unknown --format %q: want onnx", *format)
	}
	var model, out string
	switch fs.NArg() {
	case 1:
		out = fs.Arg(0)
	case 2:
		model, out = fs.Arg(0), fs.Arg(1)
	default:
		return usageErr(e, fs, "want a model (%s; default or none for the embedded model) and an output file", modelHelp)
	}
	if model == "default" {
		model = ""
	}
	m, err := loadModel(e, model)
	if err != nil {
		return fail(e, err)
	}
	om, err := m.ONNX(asr.ONNXOptions{CallerNormalizes: *callerNorm})
	if err != nil {
		return fail(e, err)
	}
	b, err := om.Marshal()
	if err != nil {
		return fail(e, err)
	}
	err = writeFileAtomic(out, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fail(e, err)
	}
	if !*quiet {
		fmt.Fprintf(e.stderr, "wav2vec: wrote %s (%.1f MB, ONNX opset %d, normalisation: %s)\n", out, float64(len(b))/1e6, asr.ONNXOpset, om.Metadata["normalize"])
	}
	return exitOK
}

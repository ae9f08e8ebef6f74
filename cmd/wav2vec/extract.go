package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wav2vec-go/wav2vec/pretrain"
)

func runExtract(e *env, args []string) int {
	fs := newFlags(e, "extract", "--model CKPT [--layer z|c|q] --out DIR FILE.wav...")
	model := fs.String("model", "", "pretraining checkpoint (.safetensors) (required)")
	layer := fs.String("layer", "c", "features to write: z (feature encoder), c (context network) or q (quantized)")
	out := fs.String("out", "", "folder for the .npy files, one per input, named after it (required)")
	quiet := fs.Bool("q", false, "no progress lines")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *model == "":
		return usageErr(e, fs, "--model is required")
	case *out == "":
		return usageErr(e, fs, "--out is required")
	case *layer != "z" && *layer != "c" && *layer != "q":
		return usageErr(e, fs, "--layer must be z, c or q, not %q", *layer)
	case fs.NArg() == 0:
		return usageErr(e, fs, "no input files")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(e, err)
	}
	m, err := pretrain.LoadModel(*model)
	if err != nil {
		return fail(e, err)
	}
	code := exitOK
	for _, in := range fs.Args() {
		dst := filepath.Join(*out, strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))+".npy")
		if err := extractOne(m, in, dst, *layer); err != nil {
			fmt.Fprintf(e.stderr, "wav2vec: %s: %v\n", in, err)
			code = exitFail
			continue
		}
		if !*quiet {
			fmt.Fprintf(e.stderr, "wav2vec: wrote %s\n", dst)
		}
	}
	return code
}

// extractOne writes the layer of the WAV file in to dst, window by window
// (see pretrain.Model.ExtractTo), through a temporary file renamed into
// place once complete.
func extractOne(m *pretrain.Model, in, dst, layer string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close() // read-only: Close loses nothing
	var xerr error
	err = writeFileAtomic(dst, func(w io.Writer) error {
		_, _, xerr = m.ExtractTo(w, f, layer)
		return xerr
	})
	if xerr != nil {
		return xerr
	}
	return err
}

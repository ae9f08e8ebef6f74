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
	fs := newFlags(e, "extract", "--model CKPT [--layer z|c|q] [--shard K/N] --out DIR FILE.wav...")
	model := fs.String("model", "", "pretraining checkpoint (.safetensors), or a published model: a Hugging Face folder, hf:OWNER/NAME or a fairseq .pt file (required)")
	layer := fs.String("layer", "c", "features to write: z (feature encoder), c (context network or transformer output), q (quantized; pretraining checkpoints), or N, a transformer layer's output (published models)")
	out := fs.String("out", "", "folder for the .npy files, one per input, named after it (required)")
	quiet := fs.Bool("q", false, "no progress lines")
	shard := shardFlag(fs, "input files")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *model == "":
		return usageErr(e, fs, "--model is required")
	case *out == "":
		return usageErr(e, fs, "--out is required")
	case fs.NArg() == 0:
		return usageErr(e, fs, "no input files")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(e, err)
	}
	var m extractor
	dir, err := publishedPath(e, *model)
	if err == nil && dir != "" {
		m, err = loadPublished(e, dir)
	} else if err == nil {
		if *layer != "z" && *layer != "c" && *layer != "q" {
			return usageErr(e, fs, "--layer must be z, c or q for a pretraining checkpoint, not %q", *layer)
		}
		m, err = pretrain.LoadModel(*model)
	}
	if err != nil {
		return fail(e, err)
	}
	code := exitOK
	for _, in := range sharded(fs.Args(), *shard) {
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

// extractor writes a layer of a WAV stream as .npy: a pretraining
// checkpoint's model or a published model.
type extractor interface {
	ExtractTo(w io.Writer, r io.ReadSeeker, layer string) (frames, dim int, err error)
}

// extractOne writes the layer of the WAV file in to dst, window by window
// (see pretrain.Model.ExtractTo), through a temporary file renamed into
// place once complete.
func extractOne(m extractor, in, dst, layer string) error {
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

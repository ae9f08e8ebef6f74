package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wav2vec-go/wav2vec/dataset"
)

func runManifest(e *env, args []string) int {
	fs := newFlags(e, "manifest", "--root DIR --out FILE.tsv [--ext wav] [--valid-percent P]")
	root := fs.String("root", "", "folder searched recursively for audio files (required)")
	out := fs.String("out", "", "manifest to write (required); with --valid-percent the valid split goes to NAME.valid.tsv beside it")
	ext := fs.String("ext", "wav", "file extension to include")
	validPct := fs.Float64("valid-percent", 0, "fraction of files (0-1, as fairseq: 0.01 is 1%) held out into the valid manifest")
	seed := fs.Uint64("seed", 1, "seed for the valid split")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case *root == "":
		return usageErr(e, fs, "--root is required")
	case *out == "":
		return usageErr(e, fs, "--out is required")
	case *validPct < 0 || *validPct > 1:
		return usageErr(e, fs, "--valid-percent is a fraction between 0 and 1 (0.01 is 1%%), got %g", *validPct)
	case fs.NArg() > 0:
		return usageErr(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	train, valid, buildErr := dataset.Build(*root, *ext, *validPct, *seed)
	if train == nil {
		return fail(e, buildErr)
	}
	if err := dataset.WriteManifestFile(*out, train); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stderr, "wav2vec: wrote %s (%d files)\n", *out, len(train.Entries))
	if *validPct > 0 {
		vpath := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".valid.tsv"
		if err := dataset.WriteManifestFile(vpath, valid); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stderr, "wav2vec: wrote %s (%d files)\n", vpath, len(valid.Entries))
	}
	if buildErr != nil {
		// Files that could not be read were left out; the rest were written.
		return fail(e, buildErr)
	}
	return exitOK
}

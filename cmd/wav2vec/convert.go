package main

import (
	"fmt"
	"strings"
)

// runConvert writes a published CTC model as the toolkit's own checkpoint.
func runConvert(e *env, args []string) int {
	fs := newFlags(e, "convert", "MODEL OUT.safetensors")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() != 2:
		return usageErr(e, fs, "want MODEL and OUT.safetensors, got %d arguments", fs.NArg())
	case !strings.HasSuffix(fs.Arg(1), ".safetensors"):
		return usageErr(e, fs, "the output %q should end in .safetensors", fs.Arg(1))
	}
	m, err := loadModel(e, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	if err := m.Save(fs.Arg(1)); err != nil {
		return fail(e, err)
	}
	n := 0
	for _, p := range m.Params() {
		n += len(p.Data)
	}
	fmt.Fprintf(e.stderr, "wav2vec: wrote %s (%d values; --model takes it)\n", fs.Arg(1), n)
	return exitOK
}

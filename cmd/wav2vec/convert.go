package main

import (
	"fmt"
	"strings"

	"github.com/wav2vec-go/wav2vec/published"
)

// runConvert writes a model as the toolkit's own checkpoint, or a
// transformer model as a Hugging Face folder.
func runConvert(e *env, args []string) int {
	fs := newFlags(e, "convert", "[--to toolkit|hf] MODEL OUT")
	to := fs.String("to", "toolkit", "output: toolkit (OUT.safetensors, the toolkit's own checkpoint) or hf (a Hugging Face Wav2Vec2ForCTC or HubertForCTC folder OUT, from a transformer model: a published one or one fine-tuned from it)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() != 2:
		return usageErr(e, fs, "want MODEL and OUT, got %d arguments", fs.NArg())
	case *to != "toolkit" && *to != "hf":
		return usageErr(e, fs, "--to must be toolkit or hf, not %q", *to)
	case *to == "toolkit" && !strings.HasSuffix(fs.Arg(1), ".safetensors"):
		return usageErr(e, fs, "the output %q should end in .safetensors", fs.Arg(1))
	}
	m, err := loadModel(e, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	if *to == "hf" {
		pm, err := m.Published()
		if err != nil {
			return fail(e, err)
		}
		if err := published.SaveHF(fs.Arg(1), pm); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stderr, "wav2vec: wrote %s in Hugging Face's layout (--model takes it)\n", fs.Arg(1))
		return exitOK
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

package main

import (
	"fmt"
	"strings"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/published"
)

// runConvert writes a model as the toolkit's own checkpoint, or a
// transformer model as a Hugging Face folder.
func runConvert(e *env, args []string) int {
	fs := newFlags(e, "convert", "[--to toolkit|hf] MODEL OUT")
	to := fs.String("to", "toolkit", "output: toolkit (OUT.safetensors, the toolkit's own checkpoint) or hf (a Hugging Face folder OUT, from a transformer model: a published one, one fine-tuned from it, or a transformer pretraining checkpoint, written as Wav2Vec2ForPreTraining)")
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
	dir, err := publishedPath(e, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	var m *asr.Model
	if dir != "" {
		m, err = loadModel(e, dir)
	} else {
		// The toolkit's own checkpoint, read once: a recogniser or a
		// pretraining checkpoint.
		var ck *nn.Checkpoint
		if ck, err = nn.LoadCheckpoint(fs.Arg(0)); err == nil && ck.Meta[nn.MetaKind] == pretrain.Kind {
			if *to != "hf" {
				return usageErr(e, fs, "%s is a pretraining checkpoint, the toolkit's already: --to hf writes it as a Hugging Face Wav2Vec2ForPreTraining folder", fs.Arg(0))
			}
			pm, err := pretrain.ModelFromCheckpoint(ck)
			if err != nil {
				return fail(e, err)
			}
			pub, err := pm.Published()
			return saveHF(e, fs.Arg(1), pub, err, "Wav2Vec2ForPreTraining; pretrain --init, finetune --init and extract --model take it")
		}
		if err == nil {
			m, err = asr.FromCheckpoint(ck)
		}
	}
	if err != nil {
		return fail(e, err)
	}
	if *to == "hf" {
		pm, err := m.Published()
		return saveHF(e, fs.Arg(1), pm, err, "--model takes it")
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

// saveHF writes pm (unless err, from making it, says why not) as a
// Hugging Face folder and says so, with what takes the folder.
func saveHF(e *env, dir string, pm *published.Model, err error, what string) int {
	if err == nil {
		err = published.SaveHF(dir, pm)
	}
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stderr, "wav2vec: wrote %s in Hugging Face's layout (%s)\n", dir, what)
	return exitOK
}

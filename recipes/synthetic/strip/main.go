// Command strip writes a fine-tuned checkpoint's weights, config and run
// metadata without its optimiser state: a checkpoint_last of 38 MB becomes
// the 12.8 MB model file that asr/defaultmodel/ embeds. The weights are unchanged,
// so the stripped model transcribes exactly as the checkpoint does. The
// embedded default model was made this way (see recipes/synthetic/run.sh,
// stage 6).
//
//	go run ./recipes/synthetic/strip --from RUN/checkpoint_last.safetensors --out model.safetensors
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/nn"
)

func main() {
	from := flag.String("from", "", "checkpoint of a fine-tuning run (required)")
	out := flag.String("out", "", "model file to write (required)")
	flag.Parse()
	if err := run(*from, *out); err != nil {
		fmt.Fprintln(os.Stderr, "strip:", err)
		os.Exit(1)
	}
}

func run(from, out string) error {
	if from == "" || out == "" {
		return errors.New("--from and --out are required")
	}
	ck, err := nn.LoadCheckpoint(from)
	if err != nil {
		return err
	}
	m, err := asr.FromCheckpoint(ck)
	if err != nil {
		return err
	}
	delete(ck.Meta, nn.MetaOptimizer) // the Adam step counts; the moments are the extra tensors
	return nn.SaveCheckpoint(out, m.Params(), nil, ck.Meta)
}

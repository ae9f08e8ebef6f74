// Command average writes the parameter-wise mean of fine-tuned checkpoints
// of one model, as fairseq's scripts/average_checkpoints.py does: averaging
// the last few checkpoints of a run, taken while its learning rate decays,
// usually scores a little better than any one of them. The output has the
// first input's metadata and no optimiser state, like checkpoint_best.
//
//	go run ./recipes/synthetic/average --out avg.safetensors A.safetensors B.safetensors...
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/wav2vec-go/wav2vec/asr"
)

func main() {
	out := flag.String("out", "", "the averaged checkpoint to write (required)")
	flag.Parse()
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "average:", err)
		os.Exit(1)
	}
}

func run(out string, in []string) error {
	if out == "" || len(in) == 0 {
		return errors.New("usage: average --out FILE CKPT...")
	}
	if slices.Contains(in, out) {
		return fmt.Errorf("--out %s is one of the inputs", out)
	}
	sum, err := asr.Load(in[0])
	if err != nil {
		return err
	}
	acc := sum.Params()
	for _, path := range in[1:] {
		m, err := asr.Load(path)
		if err != nil {
			return err
		}
		ps := m.Params()
		if len(ps) != len(acc) {
			return fmt.Errorf("%s has %d parameters, %s has %d", path, len(ps), in[0], len(acc))
		}
		for i, p := range ps {
			if p.Name != acc[i].Name || !slices.Equal(p.Shape, acc[i].Shape) {
				return fmt.Errorf("%s: parameter %s %v where %s has %s %v", path, p.Name, p.Shape, in[0], acc[i].Name, acc[i].Shape)
			}
			for j, v := range p.Data {
				acc[i].Data[j] += v
			}
		}
	}
	scale := 1 / float32(len(in))
	for _, p := range acc {
		for j := range p.Data {
			p.Data[j] *= scale
		}
	}
	return sum.Save(out)
}

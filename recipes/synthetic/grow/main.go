// Command grow deepens a fine-tuned model: it copies a fine-tuning run's
// checkpoint_last into a new run folder with more context blocks after
// the last one, each starting as the identity (its LayerNorm gain and bias
// are zero, so the block adds GELU(0) = 0), so the deeper model
// transcribes as the old one did (to float32 rounding). The optimiser state of the old
// parameters is kept and the new ones start fresh; the step count is 0, so
// `wav2vec finetune --resume --out DIR --train T --max-steps N` trains it
// with a new schedule. The embedded default model was made this way (see
// recipes/synthetic/run.sh, stage 6).
//
//	go run ./recipes/synthetic/grow --from RUN/checkpoint_last.safetensors --out DIR --dilations 1,2,4,8,16,1
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/nn"
)

func main() {
	from := flag.String("from", "", "checkpoint_last.safetensors of a fine-tuning run (required)")
	out := flag.String("out", "", "new run folder; it must not hold a checkpoint_last yet (required)")
	dil := flag.String("dilations", "", "dilations of the blocks to add, comma-separated (required)")
	flag.Parse()
	if err := run(*from, *out, *dil); err != nil {
		fmt.Fprintln(os.Stderr, "grow:", err)
		os.Exit(1)
	}
}

func run(from, out, dilList string) error {
	if from == "" || out == "" || dilList == "" {
		return errors.New("--from, --out and --dilations are required")
	}
	var add []int
	for _, s := range strings.Split(dilList, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || d < 1 {
			return fmt.Errorf("--dilations: %q is not a positive integer", s)
		}
		add = append(add, d)
	}
	dst := filepath.Join(out, "checkpoint_last.safetensors")
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s exists; grow writes a new run", dst)
	}
	ck, err := nn.LoadCheckpoint(from)
	if err != nil {
		return err
	}
	old, err := asr.FromCheckpoint(ck)
	if err != nil {
		return err
	}
	cfg := old.Config
	first := len(cfg.Encoder.ContextDilations)
	cfg.Encoder.ContextDilations = append(append([]int(nil), cfg.Encoder.ContextDilations...), add...)
	vocab, err := dataset.NewVocab(cfg.Vocab)
	if err != nil {
		return err
	}
	m, err := asr.New(cfg.Encoder, vocab, cfg.Init, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return err
	}
	if err := ck.LoadInto(m.Params(), false); err != nil {
		return err
	}
	for _, b := range m.Encoder.Blocks[first:] {
		clear(b.Norm.Gamma.Data)
		clear(b.Norm.Beta.Data)
	}

	// The optimiser: old moments and step counts, zeros for the new blocks.
	var steps map[string]int64
	if err := ck.MetaJSON(nn.MetaOptimizer, &steps); err != nil {
		return err
	}
	extra := map[string][]float32{}
	for _, p := range m.Params() {
		for _, k := range []string{"m.", "v."} {
			name := nn.AdamMomentPrefix + k + p.Name
			if t, ok := ck.Tensors[name]; ok {
				extra[name] = t.Data
			} else {
				extra[name] = make([]float32, len(p.Data))
			}
		}
		if _, ok := steps[p.Name]; !ok {
			steps[p.Name] = 0
		}
	}
	meta, err := m.Meta()
	if err != nil {
		return err
	}
	if err := nn.PutMetaJSON(meta, nn.MetaOptimizer, steps); err != nil {
		return err
	}
	if err := nn.PutMetaJSON(meta, nn.MetaStep, 0); err != nil {
		return err
	}
	// The training state: a new epoch from the start of the data, no best yet.
	var st map[string]json.RawMessage
	if err := ck.MetaJSON(nn.MetaTrainState, &st); err != nil {
		return err
	}
	st["epoch"], st["position"] = json.RawMessage("0"), json.RawMessage("0")
	st["best_score"] = json.RawMessage(strconv.FormatFloat(math.MaxFloat64, 'g', -1, 64))
	if err := nn.PutMetaJSON(meta, nn.MetaTrainState, st); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := nn.SaveCheckpoint(dst, m.Params(), extra, meta); err != nil {
		return err
	}
	fmt.Printf("%s: %d context blocks (dilations %v), %s\n", dst, len(cfg.Encoder.ContextDilations), cfg.Encoder.ContextDilations, from)
	return nil
}

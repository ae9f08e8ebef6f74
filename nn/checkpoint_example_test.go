package nn_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/wav2vec-go/wav2vec/nn"
)

func ExampleSaveCheckpoint() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkpoint_last.safetensors")

	w := nn.NewParam("head.weight", 2, 3)
	w.Data[4] = 0.5
	opt, err := nn.NewAdamW([]*nn.Param{w}, nn.AdamConfig{Beta2: 0.98, Eps: 1e-6, WeightDecay: 0.01})
	if err != nil {
		log.Fatal(err)
	}
	extra, meta := map[string][]float32{}, map[string]string{nn.MetaKind: "asr"}
	if err := nn.PutMetaJSON(meta, nn.MetaStep, 1200); err != nil {
		log.Fatal(err)
	}
	if err := opt.SaveTo(extra, meta); err != nil {
		log.Fatal(err)
	}
	if err := nn.SaveCheckpoint(path, []*nn.Param{w}, extra, meta); err != nil {
		log.Fatal(err)
	}

	ck, err := nn.LoadCheckpoint(path)
	if err != nil {
		log.Fatal(err)
	}
	restored := nn.NewParam("head.weight", 2, 3)
	if err := ck.LoadInto([]*nn.Param{restored}, true); err != nil {
		log.Fatal(err)
	}
	var step int
	if err := ck.MetaJSON(nn.MetaStep, &step); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ck.Meta[nn.MetaKind], step, restored.Data[4])
	// Output: asr 1200 0.5
}

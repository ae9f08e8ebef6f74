package pretrain_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/wav2vec-go/wav2vec/pretrain"
)

// A model is trained (here: not at all) and saved, then loaded back to
// turn one second of audio into context vectors, one per 10 ms frame.
func ExampleModel_Extract() {
	dir, err := os.MkdirTemp("", "extract")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := pretrain.TinyConfig()
	cfg.Encoder.Dim = 64
	tr, err := pretrain.NewTrainer(cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	ckpt := filepath.Join(dir, "checkpoint_last.safetensors")
	if err := tr.Save(ckpt); err != nil {
		log.Fatal(err)
	}

	m, err := pretrain.LoadModel(ckpt)
	if err != nil {
		log.Fatal(err)
	}
	samples := make([]float32, 16000) // 1 s at 16 kHz
	for i := range samples {
		samples[i] = float32(0.3 * math.Sin(2*math.Pi*220*float64(i)/16000))
	}
	for _, layer := range []string{"z", "c", "q"} {
		_, frames, dim, err := m.Extract(samples, layer)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d frames x %d\n", layer, frames, dim)
	}
	// Output:
	// z: 98 frames x 128
	// c: 98 frames x 64
	// q: 98 frames x 128
}

package asr_test

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// Load a fine-tuned model and transcribe samples. A fresh, untrained model
// stands in for a real checkpoint here (wav2vec finetune writes one), so
// the words are not meaningful; the calls are.
func ExampleTranscriber_Transcribe() {
	dir, err := os.MkdirTemp("", "asr-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	untrained, err := asr.New(encoder.Tiny(), nil, asr.InitScratch, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	if err := untrained.Save(path); err != nil {
		log.Fatal(err)
	}

	m, err := asr.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	t, err := asr.NewTranscriber(m, asr.Options{}) // greedy decoding, 30 s windows
	if err != nil {
		log.Fatal(err)
	}
	samples := make([]float32, 24000) // 1.5 s at 16 kHz, in [-1, 1]
	for i := range samples {
		samples[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	res, err := t.Transcribe(samples)
	if err != nil {
		log.Fatal(err)
	}
	_ = res.Text // the transcript: words separated by spaces
	fmt.Printf("%.2f s of audio\n", res.Duration)
	for _, w := range res.Words { // each word with its time span in seconds
		if w.Start < 0 || w.End > res.Duration {
			fmt.Println("word outside the audio:", w)
		}
	}

	_, err = t.Transcribe(samples[:100])
	fmt.Println(err)
	// Output:
	// 1.50 s of audio
	// asr: audio too short: 100 samples (6.2 ms), the model needs at least 465 (29.1 ms)
}

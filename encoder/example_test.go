package encoder_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// A forward pass of the tiny model over one second of audio.
func Example() {
	cfg := encoder.Tiny()
	m, err := encoder.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	g := nn.NewGraph()
	wave := g.Input("wave", 1, 1, 16000)
	z, proj := m.Embed(g, m.Features(g, wave))
	c := m.Context(g, proj, nil)
	if _, err := g.Compile(nil, c); err != nil {
		panic(err)
	}
	fmt.Println("z", z.Shape(), "c", c.Shape())
	fmt.Println("frames", cfg.Frames(16000), "shortest input", cfg.MinSamples(), "samples")
	fmt.Printf("context receptive field %.2f s\n", float64(cfg.ContextFrames())*encoder.FrameSeconds)
	// Output:
	// z [1 128 98] c [1 256 98]
	// frames 98 shortest input 465 samples
	// context receptive field 1.01 s
}

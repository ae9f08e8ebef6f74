package quantizer_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/quantizer"
)

// One training run of the quantizer: noise from the caller's generator,
// the temperature of the current step, the diversity loss.
func Example() {
	q, err := quantizer.New(quantizer.Tiny(), 16, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	g := nn.NewGraph()
	z := g.Input("z", 2, 16, 50)
	o := q.Forward(g, z, true)
	div := q.Diversity(g, o, nil)
	p, err := g.Compile(div, o.Q)
	if err != nil {
		panic(err)
	}
	noise := rand.New(rand.NewPCG(3, 4))
	zs := make([]float32, 2*16*50)
	for i := range zs {
		zs[i] = float32(noise.NormFloat64())
	}
	p.Set(z, zs)
	const step = 1000
	q.FillNoise(p, o, noise)
	q.SetTemperature(o, q.Temperature(step))
	if err := p.Run(); err != nil {
		panic(err)
	}
	fmt.Println("q", o.Q.Shape(), "logits", o.Logits.Shape())
	fmt.Printf("temperature at step %d: %.3f\n", step, q.Temperature(step))
	fmt.Println("perplexity between G and G*V:", q.Perplexity(p, o) > 2 && q.Perplexity(p, o) < 128)
	// Output:
	// q [2 128 50] logits [2 128 50]
	// temperature at step 1000: 1.213
	// perplexity between G and G*V: true
}

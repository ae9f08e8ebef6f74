package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
)

// A linear layer over the channels of every frame, trained one step by
// hand: build a graph for the input shape, compile it with a loss, run it,
// read the loss and the accumulated gradient.
func Example() {
	var ps nn.Params
	lin, err := nn.NewLinear(&ps, "proj", 2, 1, false, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	copy(lin.Weight.Data, []float32{1, -1}) // y = x0 - x1 + 0.5
	lin.Bias.Data[0] = 0.5

	g := nn.NewGraph()
	x := g.Input("x", 1, 2, 3) // [B, C, T]
	y := lin.Forward(g, x)     // [1, 1, 3]
	prog, err := g.Compile(g.Mean(g.Square(y)), y)
	if err != nil {
		panic(err)
	}
	prog.Set(x, []float32{1, 2, 3, 0, 1, 2}) // channel 0 then channel 1
	if err := prog.Run(); err != nil {
		panic(err)
	}
	fmt.Println("y:", prog.Value(y))
	fmt.Printf("loss: %.4f\n", prog.Loss())
	fmt.Println("dL/dw:", lin.Weight.Grad, "dL/db:", lin.Bias.Grad)
	// Output:
	// y: [1.5 1.5 1.5]
	// loss: 2.2500
	// dL/dw: [6 3] dL/db: [3]
}

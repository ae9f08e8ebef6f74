package nn_test

import (
	"fmt"

	"github.com/wav2vec-go/wav2vec/nn"
)

// The fine-tuning schedule of wav2vec 2.0's 10-minute recipe: 13k updates,
// 10% warm-up from 1% of the peak, 40% hold, 50% exponential decay to 5%.
func ExampleTriStage() {
	s := nn.TriStage{Peak: 5e-5, Total: 13000}
	for _, step := range []int{0, 650, 1300, 5000, 9750, 13000} {
		fmt.Printf("%5d %.3g\n", step, s.LR(step))
	}
	// Output:
	//     0 5e-07
	//   650 2.53e-05
	//  1300 5e-05
	//  5000 5e-05
	//  9750 1.12e-05
	// 13000 2.5e-06
}

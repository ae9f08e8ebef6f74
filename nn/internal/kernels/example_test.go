package kernels_test

import (
	"fmt"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

func ExampleSgemm() {
	// C = A * B^T for A = [[1 2] [3 4]] and B = [[1 0] [1 1]].
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 0, 1, 1}
	c := make([]float32, 4)
	kernels.Sgemm(false, true, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [1 3 3 7]
}

func ExampleConv1dForward() {
	// A causal difference filter over one channel: y[t] = x[t] - x[t-1].
	s := kernels.ConvShape{B: 1, Cin: 1, Cout: 1, Tin: 5, K: 2, PadLeft: 1}
	x := []float32{1, 4, 9, 16, 25}
	w := []float32{-1, 1}
	y := make([]float32, s.Tout())
	kernels.Conv1dForward(s, y, x, w, nil)
	fmt.Println(s.Tout(), y)
	// Output: 5 [1 3 5 7 9]
}

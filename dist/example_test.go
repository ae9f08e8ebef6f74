package dist_test

import (
	"fmt"

	"github.com/wav2vec-go/wav2vec/dist"
)

// Each rank of a job takes its rows of a batch: here 8 crops over 3 ranks.
func ExampleSplit() {
	for rank := range 3 {
		first, count := dist.Split(8, rank, 3)
		fmt.Printf("rank %d: rows %d to %d\n", rank, first, first+count-1)
	}
	// Output:
	// rank 0: rows 0 to 2
	// rank 1: rows 3 to 5
	// rank 2: rows 6 to 7
}

// A trainer sums its gradient with the other ranks' before the update.
// Without MPI (the default build) there is one rank and nothing to sum.
func ExampleComm() {
	c, err := dist.Init()
	if err != nil {
		fmt.Println(err) // a default build started by mpirun
		return
	}
	grad := []float32{0.5, -1}
	if err := c.AllreduceSum(grad); err != nil {
		c.Abort(1)
	}
	fmt.Println(c.Rank(), c.Size(), grad)
	// Output: 0 1 [0.5 -1]
}

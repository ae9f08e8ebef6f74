//go:build mpi

package dist

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// These tests run under mpirun -np 2 (TestMPIRun starts them); run alone
// they skip.

func TestMain(m *testing.M) { os.Exit(Finish(m.Run())) }

func join(t *testing.T) Comm {
	t.Helper()
	c, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() < 2 {
		t.Skip("not under mpirun")
	}
	return c
}

// TestMPIRanks: sums, means, broadcast and barrier across the ranks.
func TestMPIRanks(t *testing.T) {
	c := join(t)
	n, r := c.Size(), c.Rank()
	f := []float32{float32(r), 1, float32(r * r)}
	if err := c.AllreduceSum(f); err != nil {
		t.Fatal(err)
	}
	want := [3]float32{float32(n * (n - 1) / 2), float32(n), 0}
	for i := range n {
		want[2] += float32(i * i)
	}
	if [3]float32(f) != want {
		t.Errorf("rank %d: AllreduceSum = %v, want %v", r, f, want)
	}
	d := []float64{float64(r), 2}
	if err := c.AllreduceMean64(d); err != nil {
		t.Fatal(err)
	}
	if d[0] != float64(n-1)/2 || d[1] != 2 {
		t.Errorf("rank %d: AllreduceMean64 = %v", r, d)
	}
	m := []float32{float32(r)}
	if err := c.AllreduceMean(m); err != nil || m[0] != float32(n-1)/2 {
		t.Errorf("rank %d: AllreduceMean = %v, %v", r, m, err)
	}
	s := make([]float64, 3)
	if err := c.AllreduceSum64(s); err != nil || s[0] != 0 {
		t.Errorf("rank %d: AllreduceSum64 of zeros = %v, %v", r, s, err)
	}
	b := []byte("......")
	if r == 0 {
		copy(b, "rank 0")
	}
	if err := c.Bcast(b, 0); err != nil || string(b) != "rank 0" {
		t.Errorf("rank %d: Bcast: %q, %v", r, b, err)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}

// TestMPIDeadRank is run by TestMPIRun with W2V_DIST_DIE set: rank 1 dies
// (kill: SIGKILL, as the OOM killer would; abort: Finish(1), as a rank
// whose training failed) while rank 0 waits in an allreduce. The job must
// end, not hang; TestMPIRun times it.
func TestMPIDeadRank(t *testing.T) {
	mode := os.Getenv("W2V_DIST_DIE")
	if mode == "" {
		t.Skip("run by TestMPIRun")
	}
	c := join(t)
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	if c.Rank() == 1 {
		time.Sleep(200 * time.Millisecond) // rank 0 is waiting by now
		if mode == "kill" {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		Finish(1)
	}
	buf := make([]float32, 4)
	err := c.AllreduceSum(buf)
	t.Fatalf("rank %d: the allreduce returned (%v) although rank 1 is gone", c.Rank(), err)
}

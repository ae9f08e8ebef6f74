package dist

import (
	"errors"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ n, size int }{{8, 2}, {7, 2}, {1, 2}, {0, 3}, {10, 4}, {3, 1}} {
		next := 0
		for r := range tc.size {
			first, count := Split(tc.n, r, tc.size)
			if first != next || count < tc.n/tc.size || count > tc.n/tc.size+1 {
				t.Errorf("Split(%d, %d, %d) = %d, %d; want first %d and an even share", tc.n, r, tc.size, first, count, next)
			}
			next = first + count
		}
		if next != tc.n {
			t.Errorf("Split(%d, ·, %d): the parts cover %d rows", tc.n, tc.size, next)
		}
	}
}

// TestInitRefusesUnderMPIRun: a binary without MPI started by mpirun (or
// srun, or another PMI launcher) as one of several ranks refuses, and says
// how to build one with MPI.
func TestInitRefusesUnderMPIRun(t *testing.T) {
	for _, env := range [][2]string{
		{"OMPI_COMM_WORLD_SIZE", "2"}, {"PMI_SIZE", "4"}, {"PMIX_RANK", "1"},
	} {
		getenv := func(k string) string {
			if k == env[0] {
				return env[1]
			}
			return ""
		}
		err := needMPI(getenv)
		if !errors.Is(err, ErrNeedMPI) || !strings.Contains(err.Error(), "go build -tags mpi ./cmd/wav2vec") || !strings.Contains(err.Error(), env[0]) {
			t.Errorf("%s=%s: %v", env[0], env[1], err)
		}
	}
	for _, env := range [][2]string{{"OMPI_COMM_WORLD_SIZE", "1"}, {"PMIX_RANK", "0"}, {"SLURM_STEP_NUM_TASKS", "4"}, {"", ""}} {
		getenv := func(k string) string {
			if k == env[0] {
				return env[1]
			}
			return ""
		}
		if err := needMPI(getenv); err != nil {
			t.Errorf("%s=%s: %v, want no error (one rank)", env[0], env[1], err)
		}
	}
	if MPI {
		return
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	if c, err := Init(); !errors.Is(err, ErrNeedMPI) {
		t.Errorf("Init under OMPI_COMM_WORLD_SIZE=2 without MPI: %v, %v", c, err)
	}
}

package dist

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// A Comm is the set of processes of a run. Every rank must make the same
// calls in the same order: a collective call (Allreduce…, Bcast, Barrier)
// returns once every rank has made it. An error of a collective call
// means the job cannot go on: end it with Abort.
type Comm interface {
	// Rank is this process's number, in [0, Size); rank 0 writes the
	// run's files.
	Rank() int
	Size() int
	// AllreduceSum replaces buf, on every rank, by its elementwise sum over
	// the ranks; AllreduceMean by its mean. The float64 forms are for
	// loss and metric totals. buf must have the same length on every rank.
	AllreduceSum(buf []float32) error
	AllreduceMean(buf []float32) error
	AllreduceSum64(buf []float64) error
	AllreduceMean64(buf []float64) error
	// Bcast copies buf from rank root to every other rank.
	Bcast(buf []byte, root int) error
	// Barrier returns once every rank has called it.
	Barrier() error
	// Abort ends every rank of the job with exit status code; it does not
	// return. A rank that cannot go on must call it, so that the others
	// do not wait for it forever.
	Abort(code int)
	// Close leaves the job (MPI_Finalize); every rank calls it at the end.
	Close() error
}

// ErrNeedMPI is the error of Init in a binary built without MPI that was
// started as one of several ranks.
var ErrNeedMPI = errors.New("dist: this wav2vec was built without MPI but was started as one of several ranks; " +
	"build it with `go build -tags mpi ./cmd/wav2vec` (needs Open MPI: apt-get install openmpi-bin libopenmpi-dev), " +
	"or run it without mpirun")

// Single is the Comm of a run of one process: every call returns at once
// and changes nothing.
type Single struct{}

func (Single) Rank() int                        { return 0 }
func (Single) Size() int                        { return 1 }
func (Single) AllreduceSum([]float32) error     { return nil }
func (Single) AllreduceMean([]float32) error    { return nil }
func (Single) AllreduceSum64([]float64) error   { return nil }
func (Single) AllreduceMean64([]float64) error  { return nil }
func (Single) Bcast(buf []byte, root int) error { return nil }
func (Single) Barrier() error                   { return nil }
func (Single) Abort(code int)                   { os.Exit(code) }
func (Single) Close() error                     { return nil }

// launcherSize returns the number of ranks the environment says this
// process was started as one of (Open MPI's mpirun, MPICH's and Slurm's
// PMI, PMIx), the variable that says so, and 1 when none does.
func launcherSize(getenv func(string) string) (int, string) {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"} {
		if n, err := strconv.Atoi(getenv(v)); err == nil && n > 1 {
			if v == "SLURM_STEP_NUM_TASKS" && getenv("SLURM_PROCID") == "" {
				continue
			}
			return n, v
		}
	}
	// PMIx names the rank but not the size: a rank above 0 has company.
	for _, v := range []string{"PMIX_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK"} {
		if r, err := strconv.Atoi(getenv(v)); err == nil && r > 0 {
			return r + 1, v
		}
	}
	return 1, ""
}

// needMPI returns ErrNeedMPI with the variable that gave the size away, or
// nil when the environment names no other rank.
func needMPI(getenv func(string) string) error {
	if n, v := launcherSize(getenv); n > 1 {
		return fmt.Errorf("%w (%s=%s)", ErrNeedMPI, v, getenv(v))
	}
	return nil
}

// Split returns the rows of a batch of n rows that rank takes out of
// size: first and count, the ranks' parts in rank order, their sizes
// differing by at most one. count is 0 when n < size for the last ranks.
func Split(n, rank, size int) (first, count int) {
	if size <= 0 || rank < 0 || rank >= size {
		panic(fmt.Sprintf("dist: Split: rank %d of %d", rank, size))
	}
	q, r := n/size, n%size
	first = rank*q + min(rank, r)
	count = q
	if rank < r {
		count++
	}
	return first, count
}

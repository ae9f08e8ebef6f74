//go:build !mpi

package dist

import "os"

// Init returns the run's Comm. This build has no MPI: it returns Single,
// or ErrNeedMPI when the environment says that the process is one of
// several ranks (OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_STEP_NUM_TASKS above
// 1, or a PMIx rank above 0).
func Init() (Comm, error) {
	if err := needMPI(os.Getenv); err != nil {
		return nil, err
	}
	return Single{}, nil
}

// MPI reports whether the binary was built with MPI (-tags mpi).
const MPI = false

// Finish ends this process's part of the job and returns code. Without
// MPI there is nothing to end.
func Finish(code int) int { return code }

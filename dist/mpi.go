//go:build mpi

package dist

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <mpi.h>

// Open MPI replaces the handlers of SIGSEGV, SIGBUS, SIGFPE and SIGABRT
// to print its own backtrace; Go's runtime needs its own (a nil
// dereference is a Go panic), so they are left alone unless the user
// asked for them.
static int w2v_init(int *provided) {
	setenv("OMPI_MCA_opal_signal", "", 0);
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static int w2v_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int w2v_size(int *n) { return MPI_Comm_size(MPI_COMM_WORLD, n); }
static int w2v_sum_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int w2v_sum_f64(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int w2v_bcast(void *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_BYTE, root, MPI_COMM_WORLD);
}
static int w2v_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int w2v_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int w2v_finalize(void) { return MPI_Finalize(); }
static int w2v_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static char *w2v_error_string(int code) {
	static char s[MPI_MAX_ERROR_STRING];
	int n = 0;
	if (MPI_Error_string(code, s, &n) != MPI_SUCCESS) s[0] = 0;
	return s;
}
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// MPI reports whether the binary was built with MPI (-tags mpi).
const MPI = true

// Init returns the run's Comm: Single when the environment names no MPI
// launcher (the binary runs alone, without MPI_Init), else the MPI job
// that mpirun, srun or an MPIJob started (MPI_Init_thread with
// MPI_THREAD_SERIALIZED: calls are serialised by a lock, from any
// goroutine). MPI's default error handler stays in place: an error in a
// collective call, such as a rank that died, ends the job.
//
// Init may be called more than once: later calls return the first one's
// result (MPI is initialised once per process).
func Init() (Comm, error) {
	once.Do(func() { joined, joinErr = initMPI() })
	return joined, joinErr
}

var (
	once    sync.Once
	joined  Comm
	joinErr error
)

// Finish ends this process's part of the job and returns code: after a
// failure (code != 0) it calls MPI_Abort, so that mpirun ends every rank
// instead of leaving them waiting for this one; after a success it calls
// MPI_Finalize. It does nothing when Init did not join an MPI job.
func Finish(code int) int {
	c, ok := joined.(*mpiComm)
	if !ok {
		return code
	}
	if code != 0 {
		c.Abort(code)
	}
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

func initMPI() (Comm, error) {
	if n, _ := launcherSize(os.Getenv); n <= 1 && os.Getenv("OMPI_COMM_WORLD_SIZE") == "" && os.Getenv("PMIX_RANK") == "" && os.Getenv("PMI_RANK") == "" {
		return Single{}, nil
	}
	var provided C.int
	if rc := C.w2v_init(&provided); rc != C.MPI_SUCCESS {
		return nil, mpiErr("MPI_Init_thread", rc)
	}
	if provided < C.w2v_thread_serialized() {
		C.w2v_abort(1)
		return nil, fmt.Errorf("dist: this MPI provides thread level %d, want MPI_THREAD_SERIALIZED", provided)
	}
	var r, n C.int
	if rc := C.w2v_rank(&r); rc != C.MPI_SUCCESS {
		return nil, mpiErr("MPI_Comm_rank", rc)
	}
	if rc := C.w2v_size(&n); rc != C.MPI_SUCCESS {
		return nil, mpiErr("MPI_Comm_size", rc)
	}
	return &mpiComm{rank: int(r), size: int(n)}, nil
}

func mpiErr(call string, rc C.int) error {
	return fmt.Errorf("dist: %s: %s (error %d)", call, C.GoString(C.w2v_error_string(rc)), int(rc))
}

// mpiComm is MPI_COMM_WORLD.
type mpiComm struct {
	mu         sync.Mutex
	rank, size int
	closed     bool
}

// maxCount is the most elements one MPI call moves (its count is a C int).
const maxCount = 1 << 30

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func (c *mpiComm) AllreduceSum(buf []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(buf) > 0 {
		n := min(len(buf), maxCount)
		if rc := C.w2v_sum_f32((*C.float)(unsafe.Pointer(&buf[0])), C.int(n)); rc != C.MPI_SUCCESS {
			return mpiErr("MPI_Allreduce", rc)
		}
		buf = buf[n:]
	}
	return nil
}

func (c *mpiComm) AllreduceMean(buf []float32) error {
	if err := c.AllreduceSum(buf); err != nil {
		return err
	}
	s := 1 / float32(c.size)
	for i := range buf {
		buf[i] *= s
	}
	return nil
}

func (c *mpiComm) AllreduceSum64(buf []float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(buf) > 0 {
		n := min(len(buf), maxCount)
		if rc := C.w2v_sum_f64((*C.double)(unsafe.Pointer(&buf[0])), C.int(n)); rc != C.MPI_SUCCESS {
			return mpiErr("MPI_Allreduce", rc)
		}
		buf = buf[n:]
	}
	return nil
}

func (c *mpiComm) AllreduceMean64(buf []float64) error {
	if err := c.AllreduceSum64(buf); err != nil {
		return err
	}
	for i := range buf {
		buf[i] /= float64(c.size)
	}
	return nil
}

func (c *mpiComm) Bcast(buf []byte, root int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(buf) > 0 {
		n := min(len(buf), maxCount)
		if rc := C.w2v_bcast(unsafe.Pointer(&buf[0]), C.int(n), C.int(root)); rc != C.MPI_SUCCESS {
			return mpiErr("MPI_Bcast", rc)
		}
		buf = buf[n:]
	}
	return nil
}

func (c *mpiComm) Barrier() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := C.w2v_barrier(); rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Barrier", rc)
	}
	return nil
}

// Abort calls MPI_Abort: mpirun ends every rank of the job.
func (c *mpiComm) Abort(code int) {
	C.w2v_abort(C.int(code))
	os.Exit(code)
}

func (c *mpiComm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if rc := C.w2v_finalize(); rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Finalize", rc)
	}
	return nil
}

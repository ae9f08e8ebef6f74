// Package dist averages gradients over the processes of a data-parallel
// training run. Each process (rank) computes the gradient of its part of a
// batch, and the ranks sum their gradients with one allreduce before every
// update, so that all of them apply the same update.
//
// The default build is pure Go and has one rank. Built with -tags mpi, the
// package talks to Open MPI through cgo, and Init joins the job that
// mpirun, srun or an MPIJob started. A default-build binary started as one
// of several ranks refuses to run (see Init): it never trains N copies.
package dist

package main

import "github.com/wav2vec-go/wav2vec/dist"

// joinJob returns the data-parallel job of pretrain and finetune: one
// process, or the ranks that mpirun (srun, an MPIJob) started when the
// binary is built with -tags mpi. A binary without MPI started as one of
// several ranks gets dist.ErrNeedMPI. main ends the job (dist.Finish).
func joinJob() (dist.Comm, error) { return dist.Init() }

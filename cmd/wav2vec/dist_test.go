package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/dist"
)

// TestTrainingRefusesUnderMPIRunWithoutMPI: pretrain and finetune of a
// binary built without MPI, started by mpirun as one of 2 ranks, fail
// before training with a message that says how to build with MPI.
func TestTrainingRefusesUnderMPIRunWithoutMPI(t *testing.T) {
	if dist.MPI {
		t.Skip("built with -tags mpi")
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	t.Setenv("OMPI_COMM_WORLD_RANK", "1")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"pretrain", "--train", filepath.Join(dir, "t.tsv"), "--out", filepath.Join(dir, "p")},
		{"finetune", "--init", "scratch", "--train", filepath.Join(dir, "t.tsv"), "--valid", filepath.Join(dir, "v.tsv"), "--out", filepath.Join(dir, "f")},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitFail || !strings.Contains(stderr, "go build -tags mpi ./cmd/wav2vec") || !strings.Contains(stderr, "OMPI_COMM_WORLD_SIZE=2") {
			t.Errorf("%s under mpirun without MPI: exit %d, stderr:\n%s", args[0], code, stderr)
		}
	}
}

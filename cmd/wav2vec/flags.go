package main

import (
	"flag"

	"github.com/wav2vec-go/wav2vec/dataset"
)

// shardFlag adds --shard K/N to fs: only part K of N of what (the input
// files, a manifest's rows) is done, for array jobs.
func shardFlag(fs *flag.FlagSet, what string) *dataset.Shard {
	s := new(dataset.Shard)
	fs.Func("shard", "K/N: do only part K (0 to N-1) of N of the "+what+": every Nth from the Kth, so that N jobs (a Slurm array, a Kubernetes indexed job) share them out (default: all)", func(v string) error {
		var err error
		*s, err = dataset.ParseShard(v)
		return err
	})
	return s
}

// sharded returns the items of the shard, in their order.
func sharded[T any](items []T, s dataset.Shard) []T {
	var out []T
	for _, i := range s.Indices(len(items)) {
		out = append(out, items[i])
	}
	return out
}

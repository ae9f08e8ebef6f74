package dataset

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is part K of N of a list (a manifest's rows, a command line's
// files): the items whose index i has i mod N == K, as fairseq's
// ShardedIterator takes them, so that N jobs (a Slurm array, a Kubernetes
// indexed job) split the work between them, each item in exactly one
// part, the same way every time. The zero Shard is the whole list.
type Shard struct{ K, N int }

// ParseShard reads "K/N" (0 <= K < N), the --shard flag's value.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	K, errK := strconv.Atoi(k)
	N, errN := strconv.Atoi(n)
	if !ok || errK != nil || errN != nil || N < 1 || K < 0 || K >= N {
		return Shard{}, fmt.Errorf("shard %q: want K/N with 0 <= K < N, such as 0/4 (the first of four parts)", s)
	}
	return Shard{K: K, N: N}, nil
}

// Keep reports whether item i belongs to the shard.
func (s Shard) Keep(i int) bool { return s.N <= 1 || i%s.N == s.K }

// Indices returns the indices of the shard's items among n.
func (s Shard) Indices(n int) []int {
	var idx []int
	for i := range n {
		if s.Keep(i) {
			idx = append(idx, i)
		}
	}
	return idx
}

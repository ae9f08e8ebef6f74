package dataset

import (
	"slices"
	"testing"
)

// TestShard: the shards of a list partition it (each item in exactly one),
// stably, and bad specifications are refused.
func TestShard(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7} {
		for _, items := range []int{0, 1, 5, 22} {
			seen := make([]int, items)
			for k := range n {
				s, err := ParseShard(string(rune('0'+k)) + "/" + string(rune('0'+n)))
				if err != nil {
					t.Fatal(err)
				}
				idx := s.Indices(items)
				if !slices.Equal(idx, s.Indices(items)) || !slices.IsSorted(idx) {
					t.Errorf("%d/%d of %d: %v", k, n, items, idx)
				}
				for _, i := range idx {
					seen[i]++
				}
				if len(idx) < items/n || len(idx) > items/n+1 {
					t.Errorf("%d/%d of %d: %d items, want %d or %d", k, n, items, len(idx), items/n, items/n+1)
				}
			}
			for i, c := range seen {
				if c != 1 {
					t.Errorf("%d shards of %d: item %d in %d of them", n, items, i, c)
				}
			}
		}
	}
	if got := (Shard{}).Indices(3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("the zero shard keeps %v", got)
	}
	for _, bad := range []string{"", "1", "4/4", "-1/4", "1/0", "a/b", "1/2/3", " 1/2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

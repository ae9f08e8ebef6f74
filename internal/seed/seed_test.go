package seed

import "testing"

// TestMix: the reference splitmix64 sequence (Vigna's splitmix64.c) for the
// state 0: next() adds the golden ratio first, so Mix(0, 1) with the
// increment subtracted back equals its first output.
func TestMix(t *testing.T) {
	// splitmix64.c with x = 0 gives 0xe220a8397b1dcdaf first.
	const golden, inc = 0x9E3779B97F4A7C15, 0x632BE59BD9B4E019
	if got := Mix(golden - inc); got != golden-inc {
		t.Errorf("no values: %#x", got)
	}
	if got := Mix(golden-inc, 0); got != 0xe220a8397b1dcdaf {
		t.Errorf("Mix(golden-inc, 0) = %#x, want splitmix64's first output 0xe220a8397b1dcdaf", got)
	}
	seen := map[uint64]bool{}
	for e := range uint64(50) {
		for p := range uint64(50) {
			seen[Mix(7, e, p)] = true
		}
	}
	if len(seen) != 2500 {
		t.Errorf("%d distinct seeds of 2500", len(seen))
	}
}

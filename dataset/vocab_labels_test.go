package dataset

import (
	"slices"
	"testing"
)

// TestVocabFromLabels: the labels' symbols, most frequent first, ties in
// string order, the word boundary always in; Covers tells which lines it
// spells.
func TestVocabFromLabels(t *testing.T) {
	lines := []string{"É T É |", "B A |", "A É |"}
	v, err := VocabFromLabels(lines)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Symbols()[1:], []string{"|", "É", "A", "B", "T"}; !slices.Equal(got, want) {
		t.Errorf("symbols %q, want %q", got, want)
	}
	if !v.Covers(lines) || v.Covers([]string{"A Z |"}) {
		t.Error("Covers")
	}
	if DefaultVocab().Covers(lines) || !DefaultVocab().Covers([]string{"I ' M |"}) {
		t.Error("DefaultVocab().Covers")
	}
	if v, err := VocabFromLabels(nil); err != nil || !slices.Equal(v.Symbols()[1:], []string{"|"}) {
		t.Errorf("no labels: %v, %v", v, err)
	}
}

package train

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRemoveTemps: the temporary files of interrupted checkpoint and
// metrics writes are removed and reported with their sizes; the run's own
// files and anything merely named like a temporary file stay.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	stale := map[string]int{
		".checkpoint_last.safetensors.tmp3141592653": 2_000_000,
		".checkpoint_last.safetensors.tmp17":         1000,
		".checkpoint_best.safetensors.tmp271828":     500,
		".metrics.jsonl.tmp0":                        7,
	}
	keep := []string{
		LastFile, BestFile, MetricsFile,
		".notes.tmp", ".notes.tmp123",
		".checkpoint_last.safetensors.tmp",        // no random part
		".checkpoint_last.safetensors.tmpbackup",  // not os.CreateTemp's
		".checkpoint_last.safetensors.tmp12.bak",  // a user's copy
		"checkpoint_last.safetensors.tmp12",       // no leading dot
		".model.safetensors.tmp12",                // not a run file
		".curves.png-12345",                       // cmd/wav2vec's plot, not ours
		".checkpoint_best.safetensors.tmp99.json", // suffix after the digits
	}
	for name, n := range stale {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range keep {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A folder with a temporary file's name is not a file: left alone.
	if err := os.Mkdir(filepath.Join(dir, ".metrics.jsonl.tmp5"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".metrics.jsonl.tmp5")

	removed, err := RemoveTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range removed {
		got[f.Name] = int(f.Size)
	}
	if len(got) != len(stale) {
		t.Errorf("removed %v, want %v", got, stale)
	}
	for name, n := range stale {
		if got[name] != n {
			t.Errorf("%s: removed %d bytes, want %d", name, got[name], n)
		}
	}
	if removed.Bytes() != 2_001_507 {
		t.Errorf("Bytes() = %d, want 2001507", removed.Bytes())
	}
	if s := removed.String(); !strings.HasPrefix(s, "4 files, 2.0 MB (") || !strings.Contains(s, ".metrics.jsonl.tmp0 7 bytes") || !strings.Contains(s, ".checkpoint_best.safetensors.tmp271828 500 bytes") || !strings.Contains(s, "tmp17 1.0 kB") {
		t.Errorf("String() = %q", s)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	slices.Sort(left)
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("left %q\nwant %q", left, keep)
	}

	// Again: nothing to do. A folder not made yet holds nothing.
	if removed, err := RemoveTemps(dir); err != nil || len(removed) != 0 {
		t.Errorf("second pass: %v, %v", removed, err)
	}
	if removed, err := RemoveTemps(filepath.Join(dir, "new")); err != nil || len(removed) != 0 {
		t.Errorf("missing folder: %v, %v", removed, err)
	}
}

func TestIsTempMatchesCreateTemp(t *testing.T) {
	// The writers' own pattern, as os.CreateTemp fills it in.
	dir := t.TempDir()
	for _, name := range runFiles {
		f, err := os.CreateTemp(dir, "."+name+".tmp*")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if base := filepath.Base(f.Name()); !isTemp(base) {
			t.Errorf("%s is not recognised", base)
		}
	}
}

// TestClean: Clean removes the leftovers and logs how many and how large.
func TestClean(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".checkpoint_last.safetensors.tmp1", ".metrics.jsonl.tmp22"} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 500), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	Clean(dir, slog.New(slog.NewTextHandler(&log, nil)))
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files left", len(entries))
	}
	if !strings.Contains(log.String(), "files=2 bytes=1000") {
		t.Errorf("log: %s", log.String())
	}
	log.Reset()
	Clean(dir, slog.New(slog.NewTextHandler(&log, nil)))
	if log.Len() != 0 {
		t.Errorf("nothing to remove, yet the log says %s", log.String())
	}
}

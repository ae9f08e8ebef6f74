package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestWrite: a complete write replaces the file, readable by all; a failed
// one leaves the old file and no temporary file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(f *os.File) error {
		f.WriteString("partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	if err := Write(path, func(f *os.File) error { _, err := f.WriteString("new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("the file holds %q", b)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", info.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files, want 1", len(entries))
	}
	// A relative path writes in the working folder.
	t.Chdir(dir)
	if err := Write("g.txt", func(f *os.File) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "g.txt")); err != nil {
		t.Error(err)
	}
	// A folder that does not exist is an error, not a panic.
	if err := Write(filepath.Join(dir, "no", "h.txt"), func(f *os.File) error { return nil }); err == nil {
		t.Error("no error for a missing folder")
	}
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".a.safetensors.tmp123": true, ".a.safetensors.tmp": false, ".a.safetensors.tmp12x": false,
		"a.safetensors.tmp1": false, ".b.safetensors.tmp1": false, ".a.safetensors": false,
	} {
		if got := IsTemp(name, "a.safetensors"); got != want {
			t.Errorf("IsTemp(%q) = %v", name, got)
		}
	}
}

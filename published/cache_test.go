package published

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveCached: hf:OWNER/NAME finds the snapshot that refs/main
// names, a revision picks another, and a missing model or a hostile name
// is a clear error.
func TestResolveCached(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	root := filepath.Join(cache, "models--facebook--tiny-ctc")
	for _, c := range []string{"abc123", "def456"} {
		if err := os.MkdirAll(filepath.Join(root, "snapshots", c), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "snapshots", c, "config.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "refs", "main"), []byte("abc123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"facebook/tiny-ctc": "abc123", "facebook/tiny-ctc@def456": "def456"} {
		dir, err := ResolveCached(name)
		if err != nil || dir != filepath.Join(root, "snapshots", want) {
			t.Errorf("%s: %s, %v", name, dir, err)
		}
	}
	for name, msg := range map[string]string{
		"facebook/other":          "not in the Hugging Face cache",
		"../etc":                  "want hf:OWNER/NAME",
		"a/b/c":                   "want hf:OWNER/NAME",
		"facebook/tiny-ctc@../..": "revision",
		"facebook/..":             "want hf:OWNER/NAME",
	} {
		if _, err := ResolveCached(name); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", name, err, msg)
		}
	}
}

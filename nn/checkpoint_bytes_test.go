package nn

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDecodeCheckpoint(t *testing.T) {
	path, params := writeTestCheckpoint(t, t.TempDir())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCheckpoint(data, "embedded.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "embedded.safetensors" {
		t.Errorf("Path %q", c.Path)
	}
	for _, p := range params {
		got := c.Tensors[p.Name].Data
		if !slices.EqualFunc(got, p.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Errorf("%s: %v, want %v", p.Name, got, p.Data)
		}
	}
	for _, n := range []int{0, 7, 8, len(data) / 2, len(data) - 1} {
		if _, err := DecodeCheckpoint(data[:n], filepath.Base(path)); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

package asr

import (
	"errors"
	"io/fs"
	"testing"
)

func TestDefaultModel(t *testing.T) {
	m, err := DefaultModel()
	if _, serr := fs.Stat(modelFS, defaultModelPath); errors.Is(serr, fs.ErrNotExist) {
		if !errors.Is(err, ErrNoDefaultModel) || m != nil {
			t.Fatalf("without an embedded model: %v, %v", m, err)
		}
		if err.Error() != "asr: no default model is embedded in this build; pass --model" {
			t.Errorf("message %q", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("embedded model: %v", err)
	}
	if m2, _ := DefaultModel(); m2 != m {
		t.Error("DefaultModel loads the model again")
	}
}

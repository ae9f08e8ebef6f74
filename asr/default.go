package asr

import (
	"embed"
	"errors"
	"io/fs"
	"sync"

	"github.com/wav2vec-go/wav2vec/nn"
)

// The folder model/ is embedded whole: go:embed cannot name a file that may
// be missing, and a build may leave the default model out.
//
//go:embed model
var modelFS embed.FS

// defaultModelPath is the embedded default model's place in modelFS.
const defaultModelPath = "model/default.safetensors"

// ErrNoDefaultModel is returned by DefaultModel in a build without an
// embedded model.
var ErrNoDefaultModel = errors.New("asr: no default model is embedded in this build; pass --model")

var defaultModel = sync.OnceValues(func() (*Model, error) {
	data, err := fs.ReadFile(modelFS, defaultModelPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDefaultModel
	}
	if err != nil {
		return nil, err
	}
	ck, err := nn.DecodeCheckpoint(data, "embedded "+defaultModelPath)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint(ck)
})

// DefaultModel returns the model embedded in the binary (asr/model/
// default.safetensors), loaded once and shared: do not change its weights.
// In a build without one it returns ErrNoDefaultModel.
func DefaultModel() (*Model, error) { return defaultModel() }

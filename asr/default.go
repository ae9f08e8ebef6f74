package asr

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/wav2vec-go/wav2vec/nn"
)

// The folder model/ is embedded whole: go:embed cannot name a file that may
// be missing, and a build may leave the default model out.
//
//go:embed model
var modelFS embed.FS

// The embedded default model's files in modelFS: the network, and the
// word 4-gram LM and lexicon its decoding uses.
const (
	defaultModelPath   = "model/default.safetensors"
	defaultLMPath      = "model/default.arpa.gz"
	defaultLexiconPath = "model/default.lexicon.gz"
)

// The default model's decoding settings, chosen on the recipe's dev split
// (docs/RESULTS.md): a beam search of this width with the embedded LM and
// lexicon, the LM's log probabilities times this weight, no word score.
const (
	DefaultModelBeam     = 512
	DefaultModelLMWeight = 0.8
)

// ErrNoDefaultModel is returned by DefaultModel in a build without an
// embedded model.
var ErrNoDefaultModel = errors.New("asr: no default model is embedded in this build; pass --model")

var defaultModel = sync.OnceValues(loadDefaultModel)

// loadDefaultModel reads a new copy of the embedded default model.
func loadDefaultModel() (*Model, error) {
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
}

// DefaultModel returns the model embedded in the binary (asr/model/
// default.safetensors), loaded once and shared: do not change its weights.
// In a build without one it returns ErrNoDefaultModel.
func DefaultModel() (*Model, error) { return defaultModel() }

var defaultOptions = sync.OnceValues(func() (Options, error) {
	lmData, err := fs.ReadFile(modelFS, defaultLMPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Options{}, nil
	}
	if err != nil {
		return Options{}, err
	}
	lexData, err := fs.ReadFile(modelFS, defaultLexiconPath)
	if err != nil {
		return Options{}, err
	}
	lm, err := readARPA(bytes.NewReader(lmData), "embedded "+defaultLMPath)
	if err != nil {
		return Options{}, err
	}
	lex, err := ReadLexicon(bytes.NewReader(lexData))
	if err != nil {
		return Options{}, fmt.Errorf("asr: embedded %s: %w", defaultLexiconPath, err)
	}
	return Options{Beam: DefaultModelBeam, LM: lm, LMWeight: DefaultModelLMWeight, Lexicon: lex.LookAhead(lm)}, nil
})

// DefaultOptions returns the decoding options made for DefaultModel: a
// beam search of width DefaultModelBeam with the embedded word 4-gram LM
// (weight DefaultModelLMWeight) and lexicon, loaded once and shared. In a
// build without them it returns the zero Options, greedy decoding.
func DefaultOptions() (Options, error) { return defaultOptions() }

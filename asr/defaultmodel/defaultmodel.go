// Package defaultmodel embeds the default recogniser: a small network
// fine-tuned on the synthetic recipe's corpus (README.md in this folder
// says how it was made), with the word 4-gram LM and the lexicon its
// decoding uses. Only programs that import this package carry its 17 MB.
package defaultmodel

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/nn"
)

// The files are embedded through a pattern: go:embed cannot name a file
// that may be missing, and a build may leave the model out.
//
//go:embed default.*
var files embed.FS

// The embedded files: the network, and the word 4-gram LM and lexicon its
// decoding uses.
const (
	modelPath   = "default.safetensors"
	lmPath      = "default.arpa.gz"
	lexiconPath = "default.lexicon.gz"
)

// The default model's decoding settings, chosen on the recipe's dev split
// (docs/RESULTS.md): a beam search of this width with the embedded LM and
// lexicon, the LM's log probabilities times this weight, no word score.
const (
	Beam     = 512
	LMWeight = 0.8
)

// ErrNoModel is returned by Model and New in a build without an embedded
// model.
var ErrNoModel = errors.New("defaultmodel: no default model is embedded in this build")

var shared = sync.OnceValues(New)

// Model returns the embedded model, loaded once and shared: do not change
// its weights (New gives a copy of one's own). In a build without one it
// returns ErrNoModel.
func Model() (*asr.Model, error) { return shared() }

// New reads a new copy of the embedded model, to train on.
func New() (*asr.Model, error) {
	data, err := fs.ReadFile(files, modelPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoModel
	}
	if err != nil {
		return nil, err
	}
	ck, err := nn.DecodeCheckpoint(data, "embedded "+modelPath)
	if err != nil {
		return nil, err
	}
	return asr.FromCheckpoint(ck)
}

var options = sync.OnceValues(func() (asr.Options, error) {
	lmData, err := fs.ReadFile(files, lmPath)
	if errors.Is(err, fs.ErrNotExist) {
		return asr.Options{}, nil
	}
	if err != nil {
		return asr.Options{}, err
	}
	lexData, err := fs.ReadFile(files, lexiconPath)
	if err != nil {
		return asr.Options{}, err
	}
	model, err := lm.ReadARPA(bytes.NewReader(lmData))
	if err != nil {
		return asr.Options{}, fmt.Errorf("defaultmodel: embedded %s: %w", lmPath, err)
	}
	lex, err := lm.ReadLexicon(bytes.NewReader(lexData))
	if err != nil {
		return asr.Options{}, fmt.Errorf("defaultmodel: embedded %s: %w", lexiconPath, err)
	}
	return asr.Options{Beam: Beam, LM: model, LMWeight: LMWeight, Lexicon: lex.LookAhead(model)}, nil
})

// Options returns the decoding options made for Model: a beam search of
// width Beam with the embedded word 4-gram LM (weight LMWeight) and
// lexicon, loaded once and shared. In a build without them it returns the
// zero Options, greedy decoding.
func Options() (asr.Options, error) { return options() }

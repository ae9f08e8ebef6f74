package asr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// Starting points of a fine-tuning run (ModelConfig.Init).
const (
	// InitPretrained: the encoder and context network come from a
	// pretraining checkpoint; the conv feature encoder stays frozen and the
	// whole body is frozen for the first steps.
	InitPretrained = "pretrained"
	// InitScratch: the same network with random weights. Nothing is
	// frozen, the feature encoder trains too: random frozen convolutions
	// would be an unfair baseline.
	InitScratch = "scratch"
	// InitLogMel: the same context network and head on 80-bin log-mel
	// features (encoder.Config.Input "logmel"); nothing is frozen.
	InitLogMel = "logmel"
)

// KindASR is the checkpoint kind (metadata key nn.MetaKind) of a model.
const KindASR = "asr"

// Names of the CTC head's parameters.
const (
	headWeight = "asr.head.weight" // [V, Dim, 1]
	headBias   = "asr.head.bias"   // [V]
)

// ModelConfig is what a model checkpoint records under the metadata key
// "config": the encoder's configuration, the output symbols after the
// blank (the blank is always index 0) and the starting point it was
// fine-tuned from.
type ModelConfig struct {
	Encoder encoder.Config `json:"encoder"`
	Vocab   []string       `json:"vocab"`
	Init    string         `json:"init"`
	// Transformer, when set, is the body instead of Encoder: a wav2vec 2.0
	// transformer model (a published one, FromPublished).
	Transformer *encoder.TransformerConfig `json:"transformer,omitempty"`
	// NoNormalize feeds the samples as they are instead of normalising
	// each input to zero mean and unit variance (published models whose
	// preprocessor says do_normalize false).
	NoNormalize bool `json:"no_normalize,omitempty"`
}

// Model is a CTC recogniser: the encoder (feature encoder and context
// network) and a linear head from the context vectors c to the
// vocabulary. Its parameters live outside any graph; a Model is read-only
// during inference and may then be shared by goroutines.
type Model struct {
	Config  ModelConfig
	Encoder *encoder.Model // the convolutional body, or nil with Transformer
	// Transformer is the body of a transformer model, nil otherwise.
	Transformer *encoder.Transformer
	Vocab       *dataset.Vocab
	HeadW       *nn.Param // asr.head.weight [V, Dim, 1]
	HeadB       *nn.Param // asr.head.bias [V]

	boundary int            // index of "|"
	symbols  []string       // spelling of each index ("" for the blank)
	input    *encoder.Input // the waveform, or its log-mel features, as the encoder reads it
	hop, rf  int            // samples per frame, samples of the first frame
}

// New returns a model with random weights drawn from rng: the encoder of
// cfg (as encoder.New reads it) and a head over vocab (nil: the default
// English letters), fine-tuned from init (InitScratch or InitLogMel; for
// InitLogMel cfg.Input is set to "logmel"). The vocabulary must hold the
// word boundary "|".
func New(cfg encoder.Config, vocab *dataset.Vocab, init string, rng *rand.Rand) (*Model, error) {
	switch init {
	case InitScratch, InitPretrained:
	case InitLogMel:
		cfg.Input = "logmel"
	default:
		return nil, fmt.Errorf("asr: unknown init %q: want %q, %q or %q", init, InitPretrained, InitScratch, InitLogMel)
	}
	if vocab == nil {
		vocab = dataset.DefaultVocab()
	}
	enc, err := encoder.New(cfg, rng)
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	m, err := assemble(enc, vocab, init)
	if err != nil {
		return nil, err
	}
	initHead(m, rng)
	return m, nil
}

// assemble adds a zero head to enc and works out the frame geometry.
func assemble(enc *encoder.Model, vocab *dataset.Vocab, init string) (*Model, error) {
	input, err := encoder.NewInput(enc.Config)
	if err != nil {
		return nil, err
	}
	return assembleBody(&Model{Config: ModelConfig{Encoder: enc.Config}, Encoder: enc}, enc.Config.Dim, input, vocab, init)
}

// assembleBody completes a model whose body m holds (Encoder or
// Transformer, and its config): a zero head of dim inputs over vocab, the
// spellings (nothing for the blank and for special tokens such as <unk>),
// and the frame geometry of input.
func assembleBody(m *Model, dim int, input *encoder.Input, vocab *dataset.Vocab, init string) (*Model, error) {
	boundary, ok := vocab.Index(dataset.WordBoundary)
	if !ok {
		return nil, fmt.Errorf("asr: the vocabulary lacks the word boundary %q", dataset.WordBoundary)
	}
	V := vocab.Size()
	m.Config.Vocab, m.Config.Init = vocab.Symbols()[1:], init
	m.Vocab, m.boundary, m.symbols = vocab, boundary, vocab.Symbols()
	m.HeadW, m.HeadB = nn.NewParam(headWeight, V, dim, 1), nn.NewParam(headBias, V)
	for i, s := range m.symbols {
		if i == vocab.Blank() || special(s) {
			m.symbols[i] = ""
		}
	}
	m.input = input
	m.rf, m.hop = input.MinSamples(), input.Hop()
	if m.rf <= 0 || m.hop <= 0 || m.Frames(m.rf) != 1 || m.Frames(m.rf+m.hop) != 2 {
		return nil, fmt.Errorf("asr: the model's config gives an inconsistent frame rate (first frame at %d samples, hop %d)", m.rf, m.hop)
	}
	return m, nil
}

// initHead draws the head's weights Xavier-uniform, biases zero.
func initHead(m *Model, rng *rand.Rand) {
	V, D := m.HeadW.Shape[0], m.HeadW.Shape[1]
	a := math.Sqrt(6 / float64(V+D))
	for i := range m.HeadW.Data {
		m.HeadW.Data[i] = float32((2*rng.Float64() - 1) * a)
	}
	clear(m.HeadB.Data)
}

// FromPretrained returns a model whose encoder and context network are the
// "encoder.*" tensors of a pretraining checkpoint (its config read from the
// metadata "config", key "encoder"), with a new head drawn from rng.
func FromPretrained(path string, vocab *dataset.Vocab, rng *rand.Rand) (*Model, error) {
	ck, err := nn.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	return fromPretrained(ck, vocab, rng)
}

func fromPretrained(ck *nn.Checkpoint, vocab *dataset.Vocab, rng *rand.Rand) (*Model, error) {
	path := ck.Path
	var conf struct {
		Encoder     *encoder.Config            `json:"encoder"`
		Transformer *encoder.TransformerConfig `json:"transformer"`
		NoNormalize bool                       `json:"no_normalize"`
	}
	if err := ck.MetaJSON(nn.MetaConfig, &conf); err != nil {
		return nil, fmt.Errorf("asr: pretrained checkpoint: %w", err)
	}
	if vocab == nil {
		vocab = dataset.DefaultVocab()
	}
	if tc := conf.Transformer; tc != nil {
		if err := tc.Validate(); err != nil {
			return nil, fmt.Errorf("asr: pretrained checkpoint %s: config: %w", path, err)
		}
		if err := ck.CheckShapes(tc.ParamShapes(), "feature_extractor.", "feature_projection.", "encoder.", "masked_spec_embed"); err != nil {
			return nil, fmt.Errorf("asr: %w", err)
		}
		t, err := encoder.NewTransformer(*tc, nil)
		if err != nil {
			return nil, fmt.Errorf("asr: pretrained checkpoint %s: %w", path, err)
		}
		if err := loadEncoder(ck, t.Params()); err != nil {
			return nil, err
		}
		body := &Model{Config: ModelConfig{Init: InitPretrained, NoNormalize: conf.NoNormalize}, Transformer: t}
		return body.withHead(vocab, rng)
	}
	if conf.Encoder == nil {
		return nil, fmt.Errorf("asr: pretrained checkpoint %s: its config has no \"encoder\" or \"transformer\" entry", path)
	}
	if err := checkConfig(ck, ModelConfig{Encoder: *conf.Encoder, Init: InitPretrained}, false); err != nil {
		return nil, err
	}
	enc, err := encoder.New(*conf.Encoder, rng)
	if err != nil {
		return nil, fmt.Errorf("asr: pretrained checkpoint %s: %w", path, err)
	}
	if err := loadEncoder(ck, enc.Params()); err != nil {
		return nil, err
	}
	m, err := assemble(enc, vocab, InitPretrained)
	if err != nil {
		return nil, err
	}
	initHead(m, rng)
	return m, nil
}

// loadEncoder copies every encoder parameter from ck; all must be there.
func loadEncoder(ck *nn.Checkpoint, params []*nn.Param) error {
	var missing []string
	for _, p := range params {
		if _, ok := ck.Tensors[p.Name]; !ok {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("asr: checkpoint %s lacks the encoder tensors %s", ck.Path, strings.Join(missing, ", "))
	}
	if err := ck.LoadInto(params, false); err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	return nil
}

// Load reads a fine-tuned model from a checkpoint written by Save or by
// fine-tuning (checkpoint_best.safetensors, checkpoint_last.safetensors).
func Load(path string) (*Model, error) {
	ck, err := nn.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	return FromCheckpoint(ck)
}

// FromCheckpoint builds a fine-tuned model from a checkpoint's contents.
func FromCheckpoint(ck *nn.Checkpoint) (*Model, error) {
	if kind := ck.Meta[nn.MetaKind]; kind != KindASR {
		hint := ""
		if kind == "pretrain" {
			hint = ": a pretraining checkpoint has no CTC head; fine-tune it first"
		}
		return nil, fmt.Errorf("asr: %s: checkpoint kind %q, want %q%s", ck.Path, kind, KindASR, hint)
	}
	conf, err := readConfig(ck)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(ck, conf, true); err != nil {
		return nil, err
	}
	vocab, err := dataset.NewVocab(conf.Vocab)
	if err != nil {
		return nil, fmt.Errorf("asr: %s: %w", ck.Path, err)
	}
	var m *Model
	if conf.Transformer != nil {
		if m, err = fromTransformerCheckpoint(ck, conf, vocab); err != nil {
			return nil, err
		}
	} else {
		// The weights are overwritten: any seed will do.
		enc, err := encoder.New(conf.Encoder, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			return nil, fmt.Errorf("asr: %s: %w", ck.Path, err)
		}
		if m, err = assemble(enc, vocab, conf.Init); err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, ck.Path)
		}
	}
	if err := ck.LoadInto(m.Params(), false); err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	var missing []string
	for _, p := range m.Params() {
		if _, ok := ck.Tensors[p.Name]; !ok {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("asr: %s lacks the tensors %s", ck.Path, strings.Join(missing, ", "))
	}
	nn.DropGrads(m.Params()) // loaded to run; a trainer allocates them again
	return m, nil
}

// maxVocab bounds the symbols of a checkpoint's vocabulary (a letter
// vocabulary has about 30, a BPE one tens of thousands).
const maxVocab = 1 << 16

// checkpointConfig is ModelConfig with the vocabulary left undecoded.
type checkpointConfig struct {
	Encoder     encoder.Config             `json:"encoder"`
	Vocab       json.RawMessage            `json:"vocab"`
	Init        string                     `json:"init"`
	Transformer *encoder.TransformerConfig `json:"transformer"`
	NoNormalize bool                       `json:"no_normalize"`
}

// readConfig decodes a checkpoint's config, counting the symbols of its
// vocabulary before it decodes them: a vocabulary beyond maxVocab is
// refused without being built.
func readConfig(ck *nn.Checkpoint) (ModelConfig, error) {
	var raw checkpointConfig
	if err := ck.MetaJSON(nn.MetaConfig, &raw); err != nil {
		return ModelConfig{}, fmt.Errorf("asr: %w", err)
	}
	conf := ModelConfig{Encoder: raw.Encoder, Init: raw.Init, Transformer: raw.Transformer, NoNormalize: raw.NoNormalize}
	if len(raw.Vocab) == 0 || string(raw.Vocab) == "null" {
		return conf, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw.Vocab))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return ModelConfig{}, fmt.Errorf("asr: %s: config: vocab is not a list of strings", ck.Path)
	}
	var syms []string
	for dec.More() {
		if len(syms) == maxVocab {
			return ModelConfig{}, fmt.Errorf("asr: %s: config: a vocab of more than %d symbols is beyond the limit", ck.Path, maxVocab)
		}
		var s string
		if err := dec.Decode(&s); err != nil {
			return ModelConfig{}, fmt.Errorf("asr: %s: config: vocab symbol %d: %w", ck.Path, len(syms), err)
		}
		syms = append(syms, s)
	}
	conf.Vocab = syms
	return conf, nil
}

// checkConfig checks the model config of a checkpoint (its head too, with
// head) against the limits of its fields and against the file's tensors,
// before anything the size of the model is allocated: a damaged or
// doctored config gives an error naming the file and the field, never a
// model built to its claims.
func checkConfig(ck *nn.Checkpoint, conf ModelConfig, head bool) error {
	var errs []error
	if conf.Transformer != nil {
		if err := conf.Transformer.Validate(); err != nil {
			errs = append(errs, err)
		} else if !head {
			errs = append(errs, errors.New("a transformer body without a head"))
		}
	} else if err := conf.Encoder.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch conf.Init {
	case "", InitPretrained, InitScratch, InitLogMel:
	default:
		errs = append(errs, fmt.Errorf("unknown init %.40q", conf.Init))
	}
	if len(errs) > 0 {
		return fmt.Errorf("asr: %s: config: %w", ck.Path, errors.Join(errs...))
	}
	if conf.Transformer != nil {
		want, own := transformerShapes(conf)
		if err := ck.CheckShapes(want, own...); err != nil {
			return fmt.Errorf("asr: %w", err)
		}
		return nil
	}
	want := conf.Encoder.ParamShapes()
	own := []string{"encoder."}
	if head {
		v := nn.Dim{Size: len(conf.Vocab) + 1, Field: "vocab (with the blank)"}
		dim := nn.Dim{Size: conf.Encoder.WithDefaults().Dim, Field: "encoder.dim"}
		want = append(want,
			nn.ParamShape{Name: headWeight, Dims: []nn.Dim{v, dim, {Size: 1}}},
			nn.ParamShape{Name: headBias, Dims: []nn.Dim{v}})
		own = append(own, "asr.")
	}
	if err := ck.CheckShapes(want, own...); err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	return nil
}

// Meta returns the checkpoint metadata that describes the model: kind and
// config. Trainers add their own keys to it.
func (m *Model) Meta() (map[string]string, error) {
	meta := map[string]string{nn.MetaKind: KindASR}
	if err := nn.PutMetaJSON(meta, nn.MetaConfig, m.Config); err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	return meta, nil
}

// Save writes the model (weights and config, no training state) to path.
func (m *Model) Save(path string) error {
	meta, err := m.Meta()
	if err != nil {
		return err
	}
	if err := nn.SaveCheckpoint(path, m.Params(), nil, meta); err != nil {
		return fmt.Errorf("asr: %w", err)
	}
	return nil
}

// Params returns every parameter: the body's, then the head's.
func (m *Model) Params() []*nn.Param {
	return append(slices.Clone(m.bodyParams()), m.HeadW, m.HeadB)
}

// bodyParams returns the body's parameters: all but the head's.
func (m *Model) bodyParams() []*nn.Param {
	if m.Transformer != nil {
		return m.Transformer.Params()
	}
	return m.Encoder.Params()
}

// featureParams returns the feature encoder's parameters.
func (m *Model) featureParams() []*nn.Param {
	if m.Transformer != nil {
		return m.Transformer.FeatureParams()
	}
	return m.Encoder.FeatureParams()
}

// Symbols returns the spelling of each output index; the blank's is "".
func (m *Model) Symbols() []string { return slices.Clone(m.symbols) }

// Boundary returns the index of the word boundary "|".
func (m *Model) Boundary() int { return m.boundary }

// Hop returns the number of samples (at 16 kHz) between two output frames.
func (m *Model) Hop() int { return m.hop }

// FrameSeconds returns the time between two output frames in seconds.
func (m *Model) FrameSeconds() float64 { return float64(m.hop) / audio.SampleRate }

// MinSamples returns the shortest input, in samples, that gives one frame.
func (m *Model) MinSamples() int { return m.rf }

// Frames returns the number of output frames for n samples (0 if n is
// shorter than MinSamples).
func (m *Model) Frames(n int) int {
	if n < m.rf {
		return 0
	}
	return m.input.Frames(n)
}

// ErrTooShortAudio is returned for audio shorter than the model's
// MinSamples (it gives no output frame).
var ErrTooShortAudio = errors.New("asr: audio too short")

// checkLength returns an error wrapping ErrTooShortAudio when n samples are
// too few for one frame.
func (m *Model) checkLength(n int) error {
	if n < m.rf {
		return fmt.Errorf("%w: %d samples (%.1f ms), the model needs at least %d (%.1f ms)",
			ErrTooShortAudio, n, 1000*float64(n)/audio.SampleRate, m.rf, 1000*float64(m.rf)/audio.SampleRate)
	}
	return nil
}

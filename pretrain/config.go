package pretrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/quantizer"
)

// Config holds the pretraining settings. Every value means what it says:
// 0 is zero (no diversity loss, no feature penalty, no clipping, no weight
// decay, no warm-up), never "the default". Tiny and Base return complete
// settings, and a JSON config is read over Tiny's (ParseConfig).
type Config struct {
	MaskProb   float64 `json:"mask_prob"`   // p: int(p*T/M + U(0,1)) span starts per utterance (0.65)
	MaskLength int     `json:"mask_length"` // M: frames per span (10)
	Negatives  int     `json:"negatives"`   // K distractors per masked frame
	LogitTemp  float64 `json:"logit_temp"`  // kappa: cosine similarity / kappa (0.1)
	FinalDim   int     `json:"final_dim"`   // c and q are projected to this size before the similarity
	// Targets is what the masked frames are told apart by: "quantizer"
	// (wav2vec 2.0's Gumbel-softmax codes of z, the default), "mfcc"
	// (each frame's k-means cluster of MFCCs with deltas, fitted on the
	// training audio before the first update, as HuBERT's first iteration)
	// or "c" (clusters of the context vectors of the pretraining checkpoint
	// TargetsFrom, as HuBERT's later iterations). With clusters the
	// quantizer and its diversity loss are unused. "teacher" is data2vec's
	// regression of an EMA teacher's averaged top layers (see teacher.go):
	// no quantizer, no contrastive loss.
	Targets     string `json:"targets"`
	Clusters    int    `json:"clusters"`     // K of the cluster targets (100)
	TargetsFrom string `json:"targets_from"` // the teacher checkpoint of the "c" targets

	// The "teacher" targets (data2vec; the names are data2vec's). tau, the
	// EMA decay, is EMADecay at the first update and ramps linearly to
	// EMAEndDecay at update EMAAnnealEndStep, then stays there.
	AverageTopK      int     `json:"average_top_k_layers"` // the teacher's top K layers averaged (8; at most the network's layers)
	EMADecay         float64 `json:"ema_decay"`            // tau of the first update (0.999)
	EMAEndDecay      float64 `json:"ema_end_decay"`        // tau from EMAAnnealEndStep on (0.9999)
	EMAAnnealEndStep int     `json:"ema_anneal_end_step"`  // updates of the ramp (tiny 1500, base 30000); 0: EMAEndDecay throughout
	LossBeta         float64 `json:"loss_beta"`            // 0: squared error (the default); > 0: smooth-L1 with this beta
	Clones           int     `json:"clones"`               // masked copies of each utterance per teacher pass (1)
	// data2vec 2.0's convolutional decoder in place of the linear head
	// when DecoderLayers > 0 (see decoder.go): DecoderLayers blocks of a
	// grouped convolution to DecoderDim channels over DecoderKernel frames
	// (odd, centred) in DecoderGroups groups, a layer norm and GELU, then
	// a linear projection back to the context network's width.
	DecoderLayers int `json:"decoder_layers"` // 0: the linear head (the default); data2vec 2.0's audio: 4
	DecoderDim    int `json:"decoder_dim"`    // tiny 256, base 384
	DecoderKernel int `json:"decoder_kernel"` // 7
	DecoderGroups int `json:"decoder_groups"` // 16
	// The collapse guard: a run stops with an error when the targets'
	// variance across frames stays below CollapseRatio times its first
	// value for CollapseUpdates updates in a row (and saves no checkpoint
	// during such a streak). CollapseRatio 0 turns it off.
	CollapseRatio   float64 `json:"collapse_ratio"`   // 1e-3
	CollapseUpdates int     `json:"collapse_updates"` // 10

	DiversityWeight float64 `json:"diversity_weight"` // alpha (0.1)
	FeaturePenalty  float64 `json:"feature_penalty"`  // weight of mean(feats^2) (10)

	LR          float64 `json:"lr"`           // peak learning rate
	Warmup      int     `json:"warmup"`       // updates of linear warm-up
	Schedule    string  `json:"schedule"`     // "poly" (linear decay to 0 at MaxSteps) or "constant" (after warm-up)
	MaxSteps    int     `json:"max_steps"`    // updates
	ClipNorm    float64 `json:"clip_norm"`    // global gradient-norm clip
	AdamBeta1   float64 `json:"adam_beta1"`   // 0.9
	AdamBeta2   float64 `json:"adam_beta2"`   // 0.98
	AdamEps     float64 `json:"adam_eps"`     // 1e-6
	WeightDecay float64 `json:"weight_decay"` // decoupled (AdamW), not on biases and norms (0.01)

	BatchSeconds float64 `json:"batch_seconds"` // audio per batch (crops x crop length)
	CropSeconds  float64 `json:"crop_seconds"`  // longer utterances are cropped at random
	LogEvery     int     `json:"log_every"`     // updates between metrics lines
	ValidEvery   int     `json:"valid_every"`   // updates between validations
	SaveMinutes  float64 `json:"save_minutes"`  // minutes between checkpoint_last saves
}

// renamedKeys are the JSON names settings had before they took the names
// fine-tuning uses; configs and checkpoints that use them still read.
var renamedKeys = map[string]string{"grad_clip": "clip_norm", "log_interval": "log_every", "valid_interval": "valid_every"}

// UnmarshalJSON decodes c, accepting the settings' former names; an
// unknown field is an error.
func (c *Config) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for old, name := range renamedKeys {
		if v, ok := raw[old]; ok {
			if _, dup := raw[name]; dup {
				return fmt.Errorf("both %q and its former name %q", name, old)
			}
			raw[name] = v
			delete(raw, old)
		}
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	type plain Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(c))
}

// Tiny returns the CPU-sized settings: 2 s crops, 16 s batches, 30
// distractors (a 2 s crop has about 100 masked frames), lr 2e-3 after 300
// warm-up updates, a diversity weight of 0.5 instead of fairseq's 0.1 and
// no feature penalty. docs/RESULTS.md ("What was changed on the way") has
// the runs that chose them: fairseq's values collapsed the codebooks and
// left the weights near their initialisation at this scale.
func Tiny() Config {
	return Config{
		MaskProb: 0.65, MaskLength: 10, Negatives: 30, LogitTemp: 0.1, FinalDim: 128,
		Targets: TargetsQuantizer, Clusters: 100,
		AverageTopK: 8, EMADecay: 0.999, EMAEndDecay: 0.9999, EMAAnnealEndStep: 1500, Clones: 1,
		DecoderDim: 256, DecoderKernel: 7, DecoderGroups: 16,
		CollapseRatio: 1e-3, CollapseUpdates: 10,
		DiversityWeight: 0.5, LR: 2e-3, Warmup: 300, Schedule: "poly", MaxSteps: 20000, ClipNorm: 10,
		AdamBeta1: 0.9, AdamBeta2: 0.98, AdamEps: 1e-6, WeightDecay: 0.01,
		BatchSeconds: 16, CropSeconds: 2, LogEvery: 10, ValidEvery: 500, SaveMinutes: 5,
	}
}

// Base returns wav2vec 2.0 BASE's settings (fairseq's
// wav2vec2_base_librispeech): 100 distractors, final dim 256, lr 5e-4 with
// 32k warm-up updates over 400k, crops of up to 250k samples (15.6 s) and
// 1.4M samples (87.5 s) per batch (fairseq adds 64 GPUs on top).
func Base() Config {
	return Config{
		MaskProb: 0.65, MaskLength: 10, Negatives: 100, LogitTemp: 0.1, FinalDim: 256,
		Targets: TargetsQuantizer, Clusters: 100, DiversityWeight: 0.1, FeaturePenalty: 10,
		AverageTopK: 8, EMADecay: 0.999, EMAEndDecay: 0.9999, EMAAnnealEndStep: 30000, Clones: 1,
		DecoderDim: 384, DecoderKernel: 7, DecoderGroups: 16,
		CollapseRatio: 1e-3, CollapseUpdates: 10,
		LR: 5e-4, Warmup: 32000, Schedule: "poly", MaxSteps: 400000, ClipNorm: 10,
		AdamBeta1: 0.9, AdamBeta2: 0.98, AdamEps: 1e-6, WeightDecay: 0.01,
		BatchSeconds: 87.5, CropSeconds: 250000.0 / 16000, LogEvery: 200, ValidEvery: 5000, SaveMinutes: 10,
	}
}

// Limits of Validate on the settings that size the model's projections
// and a training batch's tensors (fairseq's BASE: 100 distractors, final
// dim 256, 87.5 s per batch): far beyond any run, they refuse the absurd
// values of a damaged or doctored checkpoint's config before anything is
// allocated.
const (
	maxNegatives    = 1024
	maxFinalDim     = 8192
	maxClusters     = 8192
	maxClones       = 64
	maxDecoder      = 16   // decoder layers
	maxDecoderDim   = 8192 // decoder channels
	maxDecoderK     = 255  // decoder kernel
	maxBatchSeconds = 3600
)

// Validate returns every problem of the settings at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("pretrain: "+format, args...)) }
	fin := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !(c.MaskProb > 0 && c.MaskProb <= 1) {
		bad("mask_prob %g: want 0 < p <= 1", c.MaskProb)
	}
	if c.MaskLength < 1 {
		bad("mask_length %d: want at least 1", c.MaskLength)
	}
	if c.Negatives < 1 || c.Negatives > maxNegatives {
		bad("negatives %d: want 1 to %d", c.Negatives, maxNegatives)
	}
	if !(c.LogitTemp > 0) || !fin(c.LogitTemp) {
		bad("logit_temp %g: want positive", c.LogitTemp)
	}
	if c.FinalDim < 1 || c.FinalDim > maxFinalDim {
		bad("final_dim %d: want 1 to %d", c.FinalDim, maxFinalDim)
	}
	switch c.Targets {
	case TargetsQuantizer, TargetsMFCC:
	case TargetsContext:
		if c.TargetsFrom == "" {
			bad("targets %q needs targets_from, the pretraining checkpoint whose c is clustered", c.Targets)
		}
	case TargetsTeacher:
	default:
		bad("targets %q: want %s, %s, %s or %s", c.Targets, TargetsQuantizer, TargetsMFCC, TargetsContext, TargetsTeacher)
	}
	if c.AverageTopK < 1 {
		bad("average_top_k_layers %d: want at least 1", c.AverageTopK)
	}
	if !(c.EMADecay >= 0 && c.EMADecay <= 1) || !(c.EMAEndDecay >= 0 && c.EMAEndDecay <= 1) {
		bad("ema_decay %g, ema_end_decay %g: want 0 to 1", c.EMADecay, c.EMAEndDecay)
	}
	if c.EMAAnnealEndStep < 0 {
		bad("ema_anneal_end_step %d: want 0 (no ramp) or more", c.EMAAnnealEndStep)
	}
	if !(c.LossBeta >= 0) || !fin(c.LossBeta) {
		bad("loss_beta %g: want 0 (squared error) or more (smooth-L1)", c.LossBeta)
	}
	if c.Clones < 1 || c.Clones > maxClones {
		bad("clones %d: want 1 to %d", c.Clones, maxClones)
	}
	if c.DecoderLayers < 0 || c.DecoderLayers > maxDecoder {
		bad("decoder_layers %d: want 0 (a linear head) to %d", c.DecoderLayers, maxDecoder)
	}
	if c.DecoderLayers > 0 {
		if c.Targets != TargetsTeacher {
			bad("decoder_layers %d: the decoder is for the %q targets, not %q", c.DecoderLayers, TargetsTeacher, c.Targets)
		}
		if c.DecoderDim < 1 || c.DecoderDim > maxDecoderDim || c.DecoderGroups < 1 || c.DecoderDim%c.DecoderGroups != 0 {
			bad("decoder_dim %d in decoder_groups %d: want 1 to %d channels, a multiple of the groups", c.DecoderDim, c.DecoderGroups, maxDecoderDim)
		}
		if c.DecoderKernel < 1 || c.DecoderKernel > maxDecoderK || c.DecoderKernel%2 == 0 {
			bad("decoder_kernel %d: want an odd width from 1 to %d", c.DecoderKernel, maxDecoderK)
		}
	}
	if !(c.CollapseRatio >= 0 && c.CollapseRatio < 1) || c.CollapseUpdates < 1 {
		bad("collapse_ratio %g, collapse_updates %d: want a ratio from 0 (off) to below 1 and at least 1 update", c.CollapseRatio, c.CollapseUpdates)
	}
	if c.Clusters < 2 || c.Clusters > maxClusters {
		bad("clusters %d: want 2 to %d", c.Clusters, maxClusters)
	}
	if !(c.DiversityWeight >= 0) || !fin(c.DiversityWeight) || !(c.FeaturePenalty >= 0) || !fin(c.FeaturePenalty) {
		bad("diversity_weight %g, feature_penalty %g: want 0 (off) or more", c.DiversityWeight, c.FeaturePenalty)
	}
	if c.Warmup < 0 {
		bad("warmup %d: want 0 (none) or more", c.Warmup)
	}
	if !(c.LR > 0) || !fin(c.LR) {
		bad("lr %g: want positive", c.LR)
	}
	if c.Schedule != "poly" && c.Schedule != "constant" {
		bad("schedule %q: want poly or constant", c.Schedule)
	}
	if c.MaxSteps < 1 {
		bad("max_steps %d: want positive", c.MaxSteps)
	}
	if !(c.ClipNorm >= 0) || !fin(c.ClipNorm) || !(c.WeightDecay >= 0) || !fin(c.WeightDecay) {
		bad("clip_norm %g, weight_decay %g: want 0 (off) or more", c.ClipNorm, c.WeightDecay)
	}
	if !(c.AdamBeta1 > 0 && c.AdamBeta1 < 1 && c.AdamBeta2 > 0 && c.AdamBeta2 < 1) {
		bad("adam betas %g, %g: want in (0, 1)", c.AdamBeta1, c.AdamBeta2)
	}
	if !(c.AdamEps > 0) || !fin(c.AdamEps) {
		bad("adam_eps %g: want positive", c.AdamEps)
	}
	if !(c.CropSeconds > 0) || !(c.BatchSeconds >= c.CropSeconds) || !(c.BatchSeconds <= maxBatchSeconds) {
		bad("crop_seconds %g, batch_seconds %g: want 0 < crop <= batch <= %g", c.CropSeconds, c.BatchSeconds, float64(maxBatchSeconds))
	}
	if c.LogEvery < 1 || c.ValidEvery < 1 || !(c.SaveMinutes > 0) {
		bad("log_every %d, valid_every %d, save_minutes %g: want positive", c.LogEvery, c.ValidEvery, c.SaveMinutes)
	}
	return errors.Join(errs...)
}

// FullConfig is everything a pretraining run and its checkpoint need: the
// JSON of the checkpoint's "config" metadata and of --config FILE.json.
type FullConfig struct {
	// Encoder is the convolutional network (wav2vec's context network over
	// the waveform or log-mel features), unused with Transformer.
	Encoder encoder.Config `json:"encoder"`
	// Transformer, when set, is the network instead of Encoder: wav2vec
	// 2.0's feature encoder and transformer, named and shaped as Hugging
	// Face's Wav2Vec2Model (so that it exports to that layout).
	Transformer *encoder.TransformerConfig `json:"transformer,omitempty"`
	Quantizer   quantizer.Config           `json:"quantizer"`
	Pretrain    Config                     `json:"pretrain"`
	// NoNormalize feeds the samples as they are instead of normalising
	// each utterance to zero mean and unit variance: set for a published
	// model pretrained so (preprocessor_config.json's do_normalize false,
	// fairseq's normalize false, as BASE is).
	NoNormalize bool `json:"no_normalize,omitempty"`
}

// MarshalJSON leaves out the unused Encoder of a transformer config.
func (c FullConfig) MarshalJSON() ([]byte, error) {
	type plain FullConfig
	if c.Transformer == nil {
		return json.Marshal(plain(c))
	}
	return json.Marshal(struct {
		Transformer *encoder.TransformerConfig `json:"transformer"`
		Quantizer   quantizer.Config           `json:"quantizer"`
		Pretrain    Config                     `json:"pretrain"`
		NoNormalize bool                       `json:"no_normalize,omitempty"`
	}{c.Transformer, c.Quantizer, c.Pretrain, c.NoNormalize})
}

// TinyConfig returns the tiny encoder, quantizer and settings.
func TinyConfig() FullConfig {
	return FullConfig{Encoder: encoder.Tiny(), Quantizer: quantizer.Tiny(), Pretrain: Tiny()}
}

// BaseConfig returns the base encoder, quantizer and settings.
func BaseConfig() FullConfig {
	return FullConfig{Encoder: encoder.Base(), Quantizer: quantizer.Base(), Pretrain: Base()}
}

// TinyTransformerConfig returns wav2vec 2.0 at the tiny size
// (encoder.TransformerTiny), with Tiny()'s quantizer and settings except
// fairseq's peak learning rate of 5e-4 instead of 2e-3: on generated
// babble the transformer's codebooks collapsed at a lower rate than the
// convolutional network's (TestLearnsTransformer).
func TinyTransformerConfig() FullConfig {
	tc := encoder.TransformerTiny()
	pc := Tiny()
	pc.LR = 5e-4
	return FullConfig{Transformer: &tc, Quantizer: quantizer.Tiny(), Pretrain: pc}
}

// TinyData2vecConfig returns TinyConfig() with data2vec's teacher targets
// (Targets "teacher": the average of the top 8 of the 10 context blocks).
func TinyData2vecConfig() FullConfig {
	c := TinyConfig()
	c.Pretrain.Targets = TargetsTeacher
	return c
}

// TinyTransformerData2vecConfig returns TinyTransformerConfig() with
// data2vec's teacher targets (the average of all 4 layers).
func TinyTransformerData2vecConfig() FullConfig {
	c := TinyTransformerConfig()
	c.Pretrain.Targets = TargetsTeacher
	return c
}

// BaseTransformerConfig returns wav2vec 2.0 BASE as fairseq pretrains it:
// encoder.TransformerBase, quantizer.Base and Base().
func BaseTransformerConfig() FullConfig {
	tc := encoder.TransformerBase()
	return FullConfig{Transformer: &tc, Quantizer: quantizer.Base(), Pretrain: Base()}
}

// Validate returns every problem of the three parts at once.
func (c FullConfig) Validate() error {
	var errs []error
	if c.Transformer != nil {
		if err := c.Transformer.Validate(); err != nil {
			errs = append(errs, err)
		}
	} else if err := c.Encoder.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Quantizer.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Pretrain.Validate(); err != nil {
		errs = append(errs, err)
	}
	if pc := c.Pretrain; pc.DecoderLayers > 0 && pc.DecoderGroups > 0 {
		dim := c.Encoder.WithDefaults().Dim
		if c.Transformer != nil {
			dim = c.Transformer.Dim
		}
		if dim%pc.DecoderGroups != 0 {
			errs = append(errs, fmt.Errorf("pretrain: decoder_groups %d: the context network's %d channels are not a multiple of it", pc.DecoderGroups, dim))
		}
	}
	return errors.Join(errs...)
}

// Preset names that ConfigByName takes.
const (
	PresetTiny            = "tiny"
	PresetBase            = "base"
	PresetTinyTransformer = "tiny-transformer"
	PresetBaseTransformer = "base-transformer"
	// data2vec's teacher targets on the tiny networks.
	PresetTinyData2vec            = "tiny-data2vec"
	PresetTinyTransformerData2vec = "tiny-transformer-data2vec"
)

// ConfigByName returns TinyConfig() for "tiny", BaseConfig() for "base",
// TinyTransformerConfig() for "tiny-transformer", BaseTransformerConfig()
// for "base-transformer", TinyData2vecConfig() for "tiny-data2vec",
// TinyTransformerData2vecConfig() for "tiny-transformer-data2vec", and otherwise reads nameOrPath as a JSON file
// {"encoder": {...}, "quantizer": {...}, "pretrain": {...}} or
// {"transformer": {...}, "quantizer": {...}, "pretrain": {...}}: each
// part, and each field of a part, that the file leaves out keeps the value
// of "tiny" (or of "tiny-transformer" for a file with "transformer").
// Unknown fields are an error naming the file.
func ConfigByName(nameOrPath string) (FullConfig, error) {
	switch nameOrPath {
	case PresetTiny:
		return TinyConfig(), nil
	case PresetBase:
		return BaseConfig(), nil
	case PresetTinyTransformer:
		return TinyTransformerConfig(), nil
	case PresetBaseTransformer:
		return BaseTransformerConfig(), nil
	case PresetTinyData2vec:
		return TinyData2vecConfig(), nil
	case PresetTinyTransformerData2vec:
		return TinyTransformerData2vecConfig(), nil
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return FullConfig{}, fmt.Errorf("pretrain: config %q is not tiny, base, tiny-transformer, base-transformer, tiny-data2vec, tiny-transformer-data2vec or a readable JSON file: %w", nameOrPath, err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return FullConfig{}, fmt.Errorf("pretrain: config %s: %w", nameOrPath, err)
	}
	return c, nil
}

// ParseConfig decodes a FullConfig from JSON over TinyConfig(), or over
// TinyTransformerConfig() when it has "transformer", and validates it.
func ParseConfig(data []byte) (FullConfig, error) {
	var parts map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&parts); err != nil {
		return FullConfig{}, err
	}
	c := TinyConfig() // a list in the file replaces tiny's (json resets slices)
	if _, ok := parts["transformer"]; ok {
		if _, both := parts["encoder"]; both {
			return FullConfig{}, errors.New(`both "encoder" and "transformer": give one context network`)
		}
		c = TinyTransformerConfig()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return FullConfig{}, err
	}
	if dec.More() {
		return FullConfig{}, errors.New("more than one JSON value")
	}
	if _, ok := parts["transformer"]; ok && c.Transformer == nil {
		return FullConfig{}, errors.New(`"transformer": null: give its settings, {} for tiny-transformer's, or leave it out`)
	}
	if c.Transformer != nil {
		c.Encoder = encoder.Config{}
	}
	if err := c.Validate(); err != nil {
		return FullConfig{}, err
	}
	return c, nil
}

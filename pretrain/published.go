package pretrain

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
	"github.com/wav2vec-go/wav2vec/quantizer"
)

// ContinueSettings returns the settings for continuing the pretraining of
// a published model on a CPU: fairseq's BASE losses (100 distractors,
// diversity weight 0.1, feature penalty 10, logit temperature 0.1, masks
// of p = 0.65 and M = 10) with 16 s batches of 4 s crops, and a peak
// learning rate of 5e-5 (a tenth of BASE's: the weights are trained
// already) after 100 warm-up updates, decaying to 0 at update 2000.
func ContinueSettings() Config {
	c := Base()
	c.LR, c.Warmup, c.MaxSteps = 5e-5, 100, 2000
	c.BatchSeconds, c.CropSeconds = 16, 4
	c.LogEvery, c.ValidEvery, c.SaveMinutes = 10, 250, 5
	return c
}

// FromPublished returns a model that continues the pretraining of a
// published wav2vec 2.0 pretraining checkpoint (published.Load of a
// Wav2Vec2ForPreTraining folder or a fairseq pretraining .pt), with
// settings s: its body, quantizer
// and projections (whose width replaces s.FinalDim), and the Gumbel temperature held at the floor where the
// published run ended (the file's, or fairseq's 0.5). A file without a
// mask embedding gets one drawn from rng, U(0, 1), as fairseq draws it.
// With s.Targets "teacher" (data2vec) it takes any published body, with
// or without a quantizer (see fromPublishedBody); cluster targets are
// refused.
func FromPublished(pm *published.Model, s Config, rng *rand.Rand) (*Model, error) {
	if s.Targets == TargetsTeacher {
		return fromPublishedBody(pm, s, rng)
	}
	p := pm.Pretraining
	if p == nil {
		return nil, fmt.Errorf("pretrain: the published %s has no quantizer: continuing pretraining needs a wav2vec 2.0 pretraining checkpoint (Hugging Face's Wav2Vec2ForPreTraining, or fairseq's with quantizer.vars)", pm.Arch)
	}
	if s.Targets != TargetsQuantizer {
		return nil, fmt.Errorf("pretrain: targets %q: continuing a published model goes on with its quantizer's codes", s.Targets)
	}
	floor := p.TempEnd
	if !(floor > 0) {
		floor = 0.5
	}
	tc := pm.Body.Config
	s.FinalDim = p.ProjectQW.Shape[0]
	cfg := FullConfig{
		Transformer: &tc,
		Quantizer: quantizer.Config{Groups: p.Groups, Codes: p.Codes(), Dim: p.ProjectQW.Shape[1],
			TempStart: floor, TempEnd: floor, TempDecay: 1},
		Pretrain:    s,
		NoNormalize: !pm.Normalize,
	}
	m, err := New(cfg, rng)
	if err != nil {
		return nil, err
	}
	byName := map[string]*nn.Param{}
	for _, q := range m.Params() {
		byName[q.Name] = q
	}
	for _, q := range slices.Concat(pm.Body.Params(), p.Params()) { // Params is the body's own slice: not appended to
		if q.Name == "masked_spec_embed" && pm.NoMaskEmb {
			continue
		}
		dst := byName[q.Name]
		if dst == nil || len(dst.Data) != len(q.Data) {
			return nil, fmt.Errorf("pretrain: the published model's %s does not fit the model it describes", q.Name)
		}
		copy(dst.Data, q.Data)
	}
	return m, nil
}

// fromPublishedBody returns a model with data2vec's teacher targets
// (settings s) whose body is the published model's (any layout
// published.Load reads: a pretraining checkpoint, a bare body, HuBERT, a
// CTC model's body), with the head (and decoder) drawn from rng; the
// trainer makes the teacher, a copy of that body. Quantizer, projections
// and a CTC head in the file are not used.
func fromPublishedBody(pm *published.Model, s Config, rng *rand.Rand) (*Model, error) {
	tc := pm.Body.Config
	cfg := FullConfig{Transformer: &tc, Quantizer: quantizer.Tiny(), Pretrain: s, NoNormalize: !pm.Normalize}
	m, err := New(cfg, rng)
	if err != nil {
		return nil, err
	}
	own := m.bodyParams()
	for i, q := range pm.Body.Params() {
		if q.Name == "masked_spec_embed" && pm.NoMaskEmb {
			continue
		}
		if i >= len(own) || own[i].Name != q.Name || len(own[i].Data) != len(q.Data) {
			return nil, fmt.Errorf("pretrain: the published model's %s does not fit the model it describes", q.Name)
		}
		copy(own[i].Data, q.Data)
	}
	if n := len(pm.Body.Params()); n != len(own) {
		return nil, fmt.Errorf("pretrain: the published body has %d tensors, the model it describes %d", n, len(own))
	}
	return m, nil
}

// Published returns a transformer model as a published
// Wav2Vec2ForPreTraining (weights shared) for published.SaveHF.
func (m *Model) Published() (*published.Model, error) {
	if m.Transformer == nil {
		return nil, fmt.Errorf("pretrain: the model's context network is convolutional; only transformer models have a published layout")
	}
	if !m.quantizerTargets() {
		return nil, fmt.Errorf("pretrain: the model was trained on %s targets: Hugging Face's pretraining layout has a quantizer's", m.Config.Pretrain.Targets)
	}
	q := m.Quantizer
	return &published.Model{
		Arch: "Wav2Vec2ForPreTraining", Body: m.Transformer, Blank: -1, Delimiter: -1, Normalize: !m.Config.NoNormalize,
		Pretraining: &published.Pretraining{
			Groups: q.Config.Groups, WeightProjW: q.Proj.Weight, WeightProjB: q.Proj.Bias, Codevectors: q.Codevectors,
			ProjectQW: m.ProjectQ.Weight, ProjectQB: m.ProjectQ.Bias, FinalProjW: m.FinalProj.Weight, FinalProjB: m.FinalProj.Bias,
			Negatives: m.Config.Pretrain.Negatives, LogitTemp: m.Config.Pretrain.LogitTemp, TempEnd: q.Config.TempEnd,
		},
	}, nil
}

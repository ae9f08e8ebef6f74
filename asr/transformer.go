package asr

import (
	"fmt"
	"slices"

	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
)

// FromPublished returns the CTC recogniser of a published model with a
// head: its body, its head with the rows reordered so that the blank (the
// pad token) comes first, as the toolkit's vocabularies have it, and its
// letters. Special tokens (<s>, </s>, <unk>, [UNK] and the like) are
// spelled as nothing, as Hugging Face's pipeline skips them. The model's
// weights are shared with pm.
func FromPublished(pm *published.Model) (*Model, error) {
	if pm.HeadW == nil {
		return nil, fmt.Errorf("asr: the %s model has no CTC head: fine-tune it first", pm.Arch)
	}
	if pm.Delimiter < 0 {
		return nil, fmt.Errorf("asr: the published model's vocabulary has no word delimiter %q", dataset.WordBoundary)
	}
	V, D := pm.HeadW.Shape[0], pm.HeadW.Shape[1]
	order := make([]int, 0, V) // new row -> published id
	order = append(order, pm.Blank)
	var symbols []string
	for id, tok := range pm.Vocab {
		if id != pm.Blank {
			order = append(order, id)
			symbols = append(symbols, tok)
		}
	}
	vocab, err := dataset.NewVocab(symbols)
	if err != nil {
		return nil, fmt.Errorf("asr: the published model's vocabulary: %w", err)
	}
	m, err := assembleTransformer(pm.Body, vocab, InitPretrained)
	if err != nil {
		return nil, err
	}
	for r, id := range order {
		copy(m.HeadW.Data[r*D:(r+1)*D], pm.HeadW.Data[id*D:(id+1)*D])
		m.HeadB.Data[r] = pm.HeadB.Data[id]
	}
	m.Config.NoNormalize = !pm.Normalize
	return m, nil
}

// Published returns a transformer model as a published one (weights
// shared), for published.SaveHF: the head's rows in the model's order,
// the blank spelled "<pad>" (Hugging Face's CTC blank) and the other
// symbols as they are.
func (m *Model) Published() (*published.Model, error) {
	if m.Transformer == nil {
		return nil, fmt.Errorf("asr: the model's context network is convolutional; only transformer models have a published layout")
	}
	V, D := m.HeadW.Shape[0], m.HeadW.Shape[1]
	vocab := m.Vocab.Symbols()
	vocab[m.Vocab.Blank()] = "<pad>"
	if slices.Contains(vocab[1:], "<pad>") {
		return nil, fmt.Errorf("asr: the vocabulary spells a letter <pad>, the name of Hugging Face's blank")
	}
	return &published.Model{
		Body: m.Transformer, Vocab: vocab, Blank: m.Vocab.Blank(), Delimiter: m.Boundary(), Normalize: !m.Config.NoNormalize,
		HeadW: &nn.Param{Name: "lm_head.weight", Shape: []int{V, D}, Data: m.HeadW.Data},
		HeadB: m.HeadB,
	}, nil
}

// special reports whether a token is a special one, not a letter: <s>,
// </s>, <unk>, <pad>, [UNK], [PAD] and the like.
func special(tok string) bool {
	return len(tok) > 2 && (tok[0] == '<' && tok[len(tok)-1] == '>' || tok[0] == '[' && tok[len(tok)-1] == ']')
}

// assembleTransformer makes a model around a transformer body with a zero
// head over vocab.
func assembleTransformer(t *encoder.Transformer, vocab *dataset.Vocab, init string) (*Model, error) {
	tc := t.Config
	input, err := tc.Input()
	if err != nil {
		return nil, err
	}
	return assembleBody(&Model{Config: ModelConfig{Transformer: &tc}, Transformer: t}, tc.Dim, input, vocab, init)
}

// fromTransformerCheckpoint builds a transformer model from a checkpoint
// of the toolkit's own format whose config was checked.
func fromTransformerCheckpoint(ck *nn.Checkpoint, conf ModelConfig, vocab *dataset.Vocab) (*Model, error) {
	t, err := encoder.NewTransformer(*conf.Transformer, nil)
	if err != nil {
		return nil, fmt.Errorf("asr: %s: %w", ck.Path, err)
	}
	m, err := assembleTransformer(t, vocab, conf.Init)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, ck.Path)
	}
	m.Config.NoNormalize = conf.NoNormalize
	return m, nil
}

// transformerShapes are the tensors a transformer model's checkpoint
// holds, and the prefixes of its own names.
func transformerShapes(conf ModelConfig) ([]nn.ParamShape, []string) {
	tc := *conf.Transformer
	want := tc.ParamShapes()
	v := nn.Dim{Size: len(conf.Vocab) + 1, Field: "vocab (with the blank)"}
	dim := nn.Dim{Size: tc.Dim, Field: "transformer.hidden_size"}
	want = append(want,
		nn.ParamShape{Name: headWeight, Dims: []nn.Dim{v, dim, {Size: 1}}},
		nn.ParamShape{Name: headBias, Dims: []nn.Dim{v}})
	return want, []string{"feature_extractor.", "feature_projection.", "encoder.", "masked_spec_embed", "asr."}
}

// exactPadding reports whether a zero-padded batch gives each row what it
// gives alone: a transformer with the "group" feature norm normalises over
// the padding too.
func (m *Model) exactPadding() bool {
	return m.Transformer == nil || m.Transformer.Config.FeatureNorm != "group"
}

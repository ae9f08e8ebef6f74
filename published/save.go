package published

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
	"github.com/wav2vec-go/wav2vec/nn"
)

// SaveHF writes m as a Hugging Face model folder that LoadHF and
// transformers read: config.json, model.safetensors, and for a model with
// a head vocab.json and tokenizer_config.json, and preprocessor_config.json.
// A HuBERT model (Arch), or one without the projection's LayerNorm (which
// only HuBERT's config can leave out), is written as HuBERT, any other as
// wav2vec 2.0; the positional convolution's weight norm keeps the
// weight_g/weight_v names that the hub's models use. Each file is written
// atomically; dir is made if missing.
func SaveHF(dir string, m *Model) error {
	tc := m.Body.Config
	if err := tc.Validate(); err != nil {
		return err
	}
	head := m.HeadW != nil
	hubert := strings.HasPrefix(m.Arch, "Hubert") || tc.NoFeatureProjNorm
	arch, modelType, prefix := "Wav2Vec2Model", "wav2vec2", ""
	pre := m.Pretraining
	switch {
	case pre != nil && (head || hubert):
		return fmt.Errorf("published: SaveHF: a quantizer goes with a wav2vec 2.0 body without a head (Wav2Vec2ForPreTraining), not with a CTC head or HuBERT's body")
	case pre != nil:
		arch, prefix = "Wav2Vec2ForPreTraining", "wav2vec2."
	case hubert && head:
		arch, modelType, prefix = "HubertForCTC", "hubert", "hubert."
	case hubert:
		arch, modelType = "HubertModel", "hubert"
	case head:
		arch, prefix = "Wav2Vec2ForCTC", "wav2vec2."
	}
	var tensors []*nn.Param
	for _, p := range m.Body.Params() {
		tensors = append(tensors, &nn.Param{Name: prefix + p.Name, Shape: p.Shape, Data: p.Data})
	}
	config := map[string]any{}
	raw, err := json.Marshal(tc)
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	if err := json.Unmarshal(raw, &config); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	delete(config, "no_feat_proj_layer_norm") // the toolkit's spelling of feat_proj_layer_norm
	config["architectures"] = []string{arch}
	config["model_type"] = modelType
	config["feat_extract_activation"] = "gelu"
	config["hidden_act"] = "gelu"
	if hubert {
		config["feat_proj_layer_norm"] = !tc.NoFeatureProjNorm
	}
	if pre != nil {
		GV, d := pre.Codevectors.Shape[0], pre.Codevectors.Shape[1]
		tensors = append(tensors,
			&nn.Param{Name: "quantizer.codevectors", Shape: []int{1, GV, d}, Data: pre.Codevectors.Data},
			&nn.Param{Name: "quantizer.weight_proj.weight", Shape: pre.WeightProjW.Shape, Data: pre.WeightProjW.Data},
			&nn.Param{Name: "quantizer.weight_proj.bias", Shape: pre.WeightProjB.Shape, Data: pre.WeightProjB.Data},
			&nn.Param{Name: "project_q.weight", Shape: pre.ProjectQW.Shape, Data: pre.ProjectQW.Data},
			&nn.Param{Name: "project_q.bias", Shape: pre.ProjectQB.Shape, Data: pre.ProjectQB.Data},
			&nn.Param{Name: "project_hid.weight", Shape: pre.FinalProjW.Shape, Data: pre.FinalProjW.Data},
			&nn.Param{Name: "project_hid.bias", Shape: pre.FinalProjB.Shape, Data: pre.FinalProjB.Data})
		config["num_codevector_groups"] = pre.Groups
		config["num_codevectors_per_group"] = pre.Codes()
		config["codevector_dim"] = pre.ProjectQW.Shape[1]
		config["proj_codevector_dim"] = pre.ProjectQW.Shape[0]
		if pre.Negatives > 0 {
			config["num_negatives"] = pre.Negatives
		}
		if pre.LogitTemp > 0 {
			config["contrastive_logits_temperature"] = pre.LogitTemp
		}
	}
	files := map[string]any{"config.json": config}
	if head {
		V := len(m.Vocab)
		if V != m.HeadW.Shape[0] || m.Blank < 0 || m.Blank >= V {
			return fmt.Errorf("published: SaveHF: %d tokens and blank %d for a head of %d outputs", V, m.Blank, m.HeadW.Shape[0])
		}
		tensors = append(tensors,
			&nn.Param{Name: "lm_head.weight", Shape: []int{V, tc.Dim}, Data: m.HeadW.Data},
			&nn.Param{Name: "lm_head.bias", Shape: []int{V}, Data: m.HeadB.Data})
		vocab := map[string]int{}
		for id, tok := range m.Vocab {
			if _, dup := vocab[tok]; dup {
				return fmt.Errorf("published: SaveHF: token %q appears twice", tok)
			}
			vocab[tok] = id
		}
		config["vocab_size"] = V
		config["pad_token_id"] = m.Blank
		files["vocab.json"] = vocab
		tok := map[string]any{"tokenizer_class": "Wav2Vec2CTCTokenizer", "pad_token": m.Vocab[m.Blank], "word_delimiter_token": "|", "do_lower_case": false}
		if slices.Contains(m.Vocab, "<unk>") {
			tok["unk_token"] = "<unk>"
		}
		files["tokenizer_config.json"] = tok
	}
	files["preprocessor_config.json"] = map[string]any{
		"feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "sampling_rate": 16000,
		"padding_side": "right", "padding_value": 0.0, "do_normalize": m.Normalize,
		"return_attention_mask": tc.FeatureNorm == "layer", // as the hub's models set it
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	for name, v := range files {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("published: %w", err)
		}
		err = atomicfile.Write(filepath.Join(dir, name), func(f *os.File) error {
			_, err := f.Write(append(data, '\n'))
			return err
		})
		if err != nil {
			return fmt.Errorf("published: %w", err)
		}
	}
	// transformers refuses a safetensors file whose metadata lacks "format".
	if err := nn.SaveCheckpoint(filepath.Join(dir, "model.safetensors"), tensors, nil, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	return nil
}

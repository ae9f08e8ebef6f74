package published

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// Model is a published wav2vec 2.0 or HuBERT model: the transformer body,
// and for the CTC models the head and its vocabulary.
type Model struct {
	// Arch is the Hugging Face architecture: Wav2Vec2ForCTC, Wav2Vec2Model,
	// HubertForCTC or HubertModel.
	Arch string
	Body *encoder.Transformer
	// HeadW [V, Dim] and HeadB [V] are the CTC head (lm_head), nil for a
	// model without one.
	HeadW, HeadB *nn.Param
	// Vocab spells each of the head's outputs (vocab.json's tokens by
	// id); Blank is the CTC blank (the pad token) and Delimiter the word
	// delimiter "|" (-1 when the vocabulary has none).
	Vocab            []string
	Blank, Delimiter int
	// Normalize says that the input is normalised to zero mean and unit
	// variance per utterance (preprocessor_config.json's do_normalize).
	Normalize bool
	// Unused lists the file's tensors that the model does not use (a
	// quantizer's, a stray mask vector), which loading ignores.
	Unused []string
	// NoMaskEmb says that the file has no mask embedding
	// (masked_spec_embed, mask_emb): Body.MaskEmb is zero.
	NoMaskEmb bool
	// Pretraining holds a pretraining checkpoint's quantizer and
	// projections (Wav2Vec2ForPreTraining; fairseq's with quantizer.vars),
	// nil for other models.
	Pretraining *Pretraining
}

// hfConfig is what config.json says beyond the transformer's architecture.
type hfConfig struct {
	encoder.TransformerConfig
	Architectures     []string `json:"architectures"`
	VocabSize         int      `json:"vocab_size"`
	PadTokenID        *int     `json:"pad_token_id"`
	FeatProjLayerNorm *bool    `json:"feat_proj_layer_norm"`
	FeatExtractAct    string   `json:"feat_extract_activation"`
	HiddenAct         string   `json:"hidden_act"`
	PositionEmbedding string   `json:"position_embeddings_type"`
	// Wav2Vec2ForPreTraining's
	CodevectorGroups int     `json:"num_codevector_groups"`
	Negatives        int     `json:"num_negatives"`
	LogitTemp        float64 `json:"contrastive_logits_temperature"`
}

// maxConfigBytes bounds the JSON files read: the hub's are a few kB.
const maxConfigBytes = 1 << 20

// readJSON decodes the JSON file at path into v.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() > maxConfigBytes {
		return fmt.Errorf("published: %s: %d bytes, more than a config holds", path, info.Size())
	}
	if err := json.NewDecoder(f).Decode(v); err != nil {
		return fmt.Errorf("published: %s: %w", path, err)
	}
	return nil
}

// prefixes are the architectures' prefixes of the body's tensors.
var prefixes = map[string]string{
	"Wav2Vec2ForCTC": "wav2vec2.", "Wav2Vec2Model": "", "Wav2Vec2ForPreTraining": "wav2vec2.",
	"HubertForCTC": "hubert.", "HubertModel": "",
}

// LoadHF reads a Hugging Face model folder: config.json,
// model.safetensors, vocab.json for a CTC model, and
// preprocessor_config.json if present. The config is checked against the
// tensors before the model is built; a tensor the model needs and the file
// lacks is an error naming it.
func LoadHF(dir string) (*Model, error) {
	var cfg hfConfig
	cfg.Eps = 1e-5 // transformers' default layer_norm_eps
	if err := readJSON(filepath.Join(dir, "config.json"), &cfg); err != nil {
		return nil, err
	}
	arch, err := cfg.arch(dir)
	if err != nil {
		return nil, err
	}
	tc := cfg.TransformerConfig
	tc.NoFeatureProjNorm = cfg.FeatProjLayerNorm != nil && !*cfg.FeatProjLayerNorm
	if err := tc.Validate(); err != nil {
		return nil, fmt.Errorf("published: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	ck, err := readHFWeights(dir)
	if err != nil {
		return nil, err
	}
	var heads *nn.Checkpoint
	if arch == "Wav2Vec2ForPreTraining" {
		if heads = splitPretraining(ck); heads == nil {
			return nil, fmt.Errorf("published: %s: a Wav2Vec2ForPreTraining without quantizer.codevectors", dir)
		}
	}
	ck, unused, fileName := renameHF(ck, prefixes[arch])
	head := strings.HasSuffix(arch, "ForCTC")
	want := wantedShapes(ck, tc, head, nn.Dim{Size: cfg.VocabSize, Field: "vocab_size"})
	if err := ck.CheckShapes(want); err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	m, err := assemble(ck, tc, arch, head, cfg.VocabSize)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, p := range want {
		wanted[p.Name] = true
	}
	for name := range ck.Tensors {
		if !wanted[name] {
			unused = append(unused, fileName[name])
		}
	}
	sort.Strings(unused)
	m.Unused = unused
	if heads != nil {
		G := cfg.CodevectorGroups
		if G == 0 {
			G = 2 // transformers' default
		}
		if m.Pretraining, err = readPretraining(heads, tc, G, loaded(heads)); err != nil {
			return nil, err
		}
		m.Pretraining.Negatives, m.Pretraining.LogitTemp = cfg.Negatives, cfg.LogitTemp
	}
	if head {
		if err := m.readVocab(filepath.Join(dir, "vocab.json"), cfg); err != nil {
			return nil, err
		}
	}
	var pre struct {
		DoNormalize  *bool `json:"do_normalize"`
		SamplingRate int   `json:"sampling_rate"`
	}
	pp := filepath.Join(dir, "preprocessor_config.json")
	switch err := readJSON(pp, &pre); {
	case errors.Is(err, fs.ErrNotExist):
		m.Normalize = true // the feature extractor's default
	case err != nil:
		return nil, err
	default:
		m.Normalize = pre.DoNormalize == nil || *pre.DoNormalize
		if pre.SamplingRate != 0 && pre.SamplingRate != 16000 {
			return nil, fmt.Errorf("published: %s: sampling_rate %d: this version reads 16 kHz models", pp, pre.SamplingRate)
		}
	}
	return m, nil
}

// arch returns the model's architecture, checking what this version runs.
func (c hfConfig) arch(dir string) (string, error) {
	path := filepath.Join(dir, "config.json")
	if len(c.Architectures) != 1 {
		return "", fmt.Errorf("published: %s: architectures %q: want one", path, c.Architectures)
	}
	a := c.Architectures[0]
	if _, ok := prefixes[a]; !ok {
		return "", fmt.Errorf("published: %s: architecture %s: this version runs Wav2Vec2ForCTC, Wav2Vec2Model, Wav2Vec2ForPreTraining, HubertForCTC and HubertModel", path, a)
	}
	if c.FeatExtractAct != "" && c.FeatExtractAct != "gelu" || c.HiddenAct != "" && c.HiddenAct != "gelu" {
		return "", fmt.Errorf("published: %s: activations %q and %q: this version runs gelu", path, c.FeatExtractAct, c.HiddenAct)
	}
	if c.PositionEmbedding != "" {
		return "", fmt.Errorf("published: %s: position_embeddings_type %q (a conformer): not supported", path, c.PositionEmbedding)
	}
	return a, nil
}

// renameHF returns ck with the tensors named as encoder.Transformer names
// them: the architecture's prefix removed, and the weight norm's newer
// spelling (parametrizations.weight.original0/1) read as weight_g/weight_v.
// Tensors outside the model's names are returned apart, and the file's
// name of each tensor kept.
func renameHF(ck *nn.Checkpoint, prefix string) (*nn.Checkpoint, []string, map[string]string) {
	out := &nn.Checkpoint{Path: ck.Path, Meta: ck.Meta, Tensors: map[string]nn.SavedTensor{}}
	fileName := map[string]string{}
	var other []string
	for name, t := range ck.Tensors {
		n := name
		switch {
		case strings.HasPrefix(n, "lm_head."):
		case strings.HasPrefix(n, prefix):
			n = strings.TrimPrefix(n, prefix)
			n = strings.Replace(n, "conv.parametrizations.weight.original0", "conv.weight_g", 1)
			n = strings.Replace(n, "conv.parametrizations.weight.original1", "conv.weight_v", 1)
		default:
			other = append(other, name)
			continue
		}
		out.Tensors[n] = t
		fileName[n] = name
	}
	return out, other, fileName
}

// readVocab reads vocab.json: token -> id, every id of the head once.
func (m *Model) readVocab(path string, cfg hfConfig) error {
	var v map[string]int
	if err := readJSON(path, &v); err != nil {
		return err
	}
	V := cfg.VocabSize
	m.Vocab = make([]string, V)
	seen := make([]bool, V)
	for tok, id := range v {
		if id < 0 || id >= V || seen[id] {
			return fmt.Errorf("published: %s: token %q has id %d: want each of 0..%d once", path, tok, id, V-1)
		}
		seen[id] = true
		m.Vocab[id] = tok
	}
	for id, ok := range seen {
		if !ok {
			return fmt.Errorf("published: %s: no token for id %d of the %d outputs", path, id, V)
		}
	}
	m.Blank = 0
	if cfg.PadTokenID != nil {
		m.Blank = *cfg.PadTokenID
	}
	if m.Blank < 0 || m.Blank >= V {
		return fmt.Errorf("published: %s: pad_token_id %d outside the %d outputs", path, m.Blank, V)
	}
	m.Delimiter = slices.Index(m.Vocab, "|")
	return nil
}

// Logits adds the CTC head to a graph: out [B, Dim, T] -> [B, V, T]. The
// model must have a head.
func (m *Model) Logits(g *nn.Graph, out *nn.Node) *nn.Node {
	V, D := m.HeadW.Shape[0], m.HeadW.Shape[1]
	return g.Conv1d(out, g.Reshape(g.Param(m.HeadW), V, D, 1), g.Param(m.HeadB), nn.ConvOpts{})
}

// readHFWeights reads a folder's weights: model.safetensors, the shards a
// model.safetensors.index.json or pytorch_model.bin.index.json lists, or
// pytorch_model.bin (read without running its pickle).
func readHFWeights(dir string) (*nn.Checkpoint, error) {
	st := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(st); err == nil {
		return nn.LoadCheckpoint(st)
	}
	for _, index := range []string{"model.safetensors.index.json", "pytorch_model.bin.index.json"} {
		idx := filepath.Join(dir, index)
		if !fileExists(idx) {
			continue
		}
		shards, err := shardFiles(idx)
		if err != nil {
			return nil, err
		}
		ext := filepath.Ext(strings.TrimSuffix(index, ".index.json")) // .safetensors or .bin
		out := &nn.Checkpoint{Path: dir, Tensors: map[string]nn.SavedTensor{}}
		for _, f := range shards {
			var ck *nn.Checkpoint
			var err error
			if ext == ".bin" {
				ck, err = readTorchStateDict(filepath.Join(dir, f))
			} else {
				ck, err = nn.LoadCheckpoint(filepath.Join(dir, f))
			}
			if err != nil {
				return nil, err
			}
			for name, t := range ck.Tensors {
				out.Tensors[name] = t
			}
		}
		return out, nil
	}
	bin := filepath.Join(dir, "pytorch_model.bin")
	if !fileExists(bin) {
		return nil, fmt.Errorf("published: %s: no model.safetensors, model.safetensors.index.json or pytorch_model.bin", dir)
	}
	return readTorchStateDict(bin)
}

// readTorchStateDict reads a pytorch_model.bin: a state dict of tensors,
// read without running its pickle.
func readTorchStateDict(path string) (*nn.Checkpoint, error) {
	tf, err := openTorch(path)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	state := dictEntries(tf.root)
	if state == nil {
		return nil, fmt.Errorf("published: %s: not a state dict", path)
	}
	ck := &nn.Checkpoint{Path: path, Tensors: map[string]nn.SavedTensor{}}
	for _, e := range state {
		name, ok1 := e.Key.(string)
		t, ok2 := e.Value.(*torchTensor)
		if !ok1 || !ok2 {
			continue
		}
		st := nn.SavedTensor{DType: t.st.dtype, Shape: t.shape}
		if vals, err := tf.values(t); err == nil { // a tensor of another dtype stays without values
			st.Data, st.DType = vals, "F32"
		}
		ck.Tensors[name] = st
	}
	return ck, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// shardFiles reads a sharded model's index (NAME.safetensors.index.json or
// NAME.bin.index.json) and returns its shards, each named once: files of
// the index's own kind beside it.
func shardFiles(idx string) ([]string, error) {
	var m struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := readJSON(idx, &m); err != nil {
		return nil, err
	}
	ext := filepath.Ext(strings.TrimSuffix(filepath.Base(idx), ".index.json"))
	seen := map[string]bool{}
	var shards []string
	for _, f := range m.WeightMap {
		if f != filepath.Base(f) || !strings.HasSuffix(f, ext) || strings.HasPrefix(f, ".") {
			return nil, fmt.Errorf("published: %s: shard %q is not a %s file beside it", idx, f, ext)
		}
		if !seen[f] {
			seen[f] = true
			shards = append(shards, f)
		}
	}
	sort.Strings(shards)
	return shards, nil
}

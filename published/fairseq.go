package published

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/types"

	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// fairseqNames maps fairseq's tensor names to encoder.Transformer's (after
// a fine-tuned model's "w2v_encoder.w2v_model." prefix is removed): the
// table torchaudio's import_fairseq_model applies, read the other way.
var fairseqNames = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)$`), "feature_extractor.conv_layers.$1.conv.$2"},
	{regexp.MustCompile(`^feature_extractor\.conv_layers\.0\.2\.(weight|bias)$`), "feature_extractor.conv_layers.0.layer_norm.$1"},
	{regexp.MustCompile(`^feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)$`), "feature_extractor.conv_layers.$1.layer_norm.$2"},
	{regexp.MustCompile(`^layer_norm\.(weight|bias)$`), "feature_projection.layer_norm.$1"},
	{regexp.MustCompile(`^post_extract_proj\.(weight|bias)$`), "feature_projection.projection.$1"},
	{regexp.MustCompile(`^mask_emb$`), "masked_spec_embed"},
	{regexp.MustCompile(`^encoder\.pos_conv\.0\.(bias|weight_g|weight_v)$`), "encoder.pos_conv_embed.conv.$1"},
	{regexp.MustCompile(`^encoder\.layer_norm\.(weight|bias)$`), "encoder.layer_norm.$1"},
	{regexp.MustCompile(`^encoder\.layers\.(\d+)\.self_attn\.((?:k|v|q|out)_proj\.(?:weight|bias))$`), "encoder.layers.$1.attention.$2"},
	{regexp.MustCompile(`^encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)$`), "encoder.layers.$1.layer_norm.$2"},
	{regexp.MustCompile(`^encoder\.layers\.(\d+)\.fc1\.(weight|bias)$`), "encoder.layers.$1.feed_forward.intermediate_dense.$2"},
	{regexp.MustCompile(`^encoder\.layers\.(\d+)\.fc2\.(weight|bias)$`), "encoder.layers.$1.feed_forward.output_dense.$2"},
	{regexp.MustCompile(`^encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)$`), "encoder.layers.$1.final_layer_norm.$2"},
}

// fairseqName returns the toolkit's name of a fairseq tensor, and false for
// one the model does not use (a quantizer's, project_q, final_proj).
func fairseqName(name string) (string, bool) {
	if n, ok := strings.CutPrefix(name, "w2v_encoder."); ok {
		if n == "proj.weight" || n == "proj.bias" {
			return "lm_head." + strings.TrimPrefix(n, "proj."), true
		}
		name = strings.TrimPrefix(n, "w2v_model.")
	}
	for _, r := range fairseqNames {
		if r.re.MatchString(name) {
			return r.re.ReplaceAllString(name, r.repl), true
		}
	}
	return "", false
}

// LoadFairseq reads a fairseq wav2vec 2.0 or HuBERT checkpoint (.pt, the
// zip format of torch.save): a pretraining one or a fine-tuned CTC one
// (its tensors under "w2v_encoder.w2v_model.", the head
// "w2v_encoder.proj"), whose vocabulary is dict.ltr.txt beside the file.
// The architecture comes from the tensors' shapes; the strides, the heads
// and the norms' placement from the settings the file records (cfg, or
// args in older files).
func LoadFairseq(path string) (*Model, error) {
	tf, err := openTorch(path)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	root, ok := tf.root.(*types.Dict)
	if !ok {
		return nil, fmt.Errorf("published: %s: not a fairseq checkpoint (a dict with \"model\")", path)
	}
	stateV, _ := root.Get("model")
	state := dictEntries(stateV)
	if state == nil {
		return nil, fmt.Errorf("published: %s: not a fairseq checkpoint: no \"model\" state dict", path)
	}
	settings := fairseqSettings(root)
	shapes := map[string][]int{}
	tensors := map[string]*torchTensor{}
	var unused []string
	pre := &nn.Checkpoint{Path: path, Tensors: map[string]nn.SavedTensor{}}
	preTensors := map[string]*torchTensor{}
	for _, e := range state {
		key, _ := e.Key.(string)
		t, isTensor := e.Value.(*torchTensor)
		if n, ok := pretrainingNames[key]; ok && isTensor {
			pre.Tensors[n] = nn.SavedTensor{DType: t.st.dtype, Shape: t.shape}
			preTensors[n] = t
			unused = append(unused, key)
			continue
		}
		name, ok := fairseqName(key)
		if !ok || !isTensor {
			unused = append(unused, key)
			continue
		}
		tensors[name] = t
		shapes[name] = t.shape
	}
	tc, err := fairseqConfig(shapes, settings)
	if err != nil {
		return nil, fmt.Errorf("published: %s: %w", path, err)
	}
	// The shapes are checked before a value is read.
	ck := &nn.Checkpoint{Path: path, Tensors: map[string]nn.SavedTensor{}}
	for name, t := range tensors {
		ck.Tensors[name] = nn.SavedTensor{DType: t.st.dtype, Shape: t.shape}
	}
	head := tensors["lm_head.weight"] != nil
	var V int
	if head {
		V = tensors["lm_head.weight"].shape[0]
	}
	want := wantedShapes(ck, tc, head, nn.Dim{Size: V})
	if err := ck.CheckShapes(want); err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	for _, p := range want {
		vals, err := tf.values(tensors[p.Name])
		if err != nil {
			return nil, err
		}
		t := ck.Tensors[p.Name]
		t.Data, t.DType = vals, "F32"
		ck.Tensors[p.Name] = t
	}
	arch := "Wav2Vec2Model"
	if head {
		arch = "Wav2Vec2ForCTC"
	}
	// A quantizer makes it a wav2vec 2.0 pretraining checkpoint; HuBERT's
	// final_proj alone stays unused.
	_, quantized := pre.Tensors["quantizer.codevectors"]
	if quantized && !head {
		arch = "Wav2Vec2ForPreTraining"
	}
	m, err := assemble(ck, tc, arch, head, V)
	if err != nil {
		return nil, err
	}
	if arch == "Wav2Vec2ForPreTraining" {
		G := settingInt(settings, "latent_groups", 2)
		load := func(name string) ([]float32, error) { return tf.values(preTensors[name]) }
		if m.Pretraining, err = readPretraining(pre, tc, G, load); err != nil {
			return nil, err
		}
		m.Pretraining.Negatives = settingInt(settings, "num_negatives", 0)
		m.Pretraining.LogitTemp = settingFloat(settings, "logit_temp")
		if v, ok := settings.get("latent_temp"); ok {
			if l, ok := v.(interface {
				Len() int
				Get(int) any
			}); ok && l.Len() == 3 {
				m.Pretraining.TempEnd = toFloat(l.Get(1))
			}
		}
		unused = slices.DeleteFunc(unused, func(k string) bool { _, ok := pretrainingNames[k]; return ok })
	}
	sort.Strings(unused)
	m.Unused = unused
	m.Normalize = settings.normalize
	if head {
		if err := m.readDict(filepath.Join(filepath.Dir(path), "dict.ltr.txt"), V); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// wantedShapes lists the tensors a model of config tc needs from ck: the
// body's (its mask vector only if the file has one: it serves training,
// not inference) and, with a head, the head's of v outputs.
func wantedShapes(ck *nn.Checkpoint, tc encoder.TransformerConfig, head bool, v nn.Dim) []nn.ParamShape {
	want := slices.DeleteFunc(tc.ParamShapes(), func(p nn.ParamShape) bool {
		_, ok := ck.Tensors[p.Name]
		return p.Name == "masked_spec_embed" && !ok
	})
	if head {
		dim := nn.Dim{Size: tc.Dim, Field: "hidden_size"}
		want = append(want, nn.ParamShape{Name: "lm_head.weight", Dims: []nn.Dim{v, dim}},
			nn.ParamShape{Name: "lm_head.bias", Dims: []nn.Dim{v}})
	}
	return want
}

// assemble builds the model of a checkpoint whose tensors are named as the
// toolkit names them and were checked against the config.
func assemble(ck *nn.Checkpoint, tc encoder.TransformerConfig, arch string, head bool, V int) (*Model, error) {
	body, err := encoder.NewTransformer(tc, nil)
	if err != nil {
		return nil, err
	}
	m := &Model{Arch: arch, Body: body, Blank: -1, Delimiter: -1}
	params := slices.Clone(body.Params())
	if _, ok := ck.Tensors["masked_spec_embed"]; !ok {
		params = slices.DeleteFunc(params, func(p *nn.Param) bool { return p.Name == "masked_spec_embed" })
		m.NoMaskEmb = true
	}
	if head {
		m.HeadW = nn.NewParam("lm_head.weight", V, tc.Dim)
		m.HeadB = nn.NewParam("lm_head.bias", V)
		params = append(params, m.HeadW, m.HeadB)
	}
	if err := ck.LoadInto(params, false); err != nil {
		return nil, err
	}
	nn.DropGrads(params) // loaded to run; training allocates them again
	return m, nil
}

// dictEntries returns the entries of a pickled dict or OrderedDict.
func dictEntries(v any) []types.DictEntry {
	switch d := v.(type) {
	case *types.Dict:
		return *d
	case *types.OrderedDict:
		var out []types.DictEntry
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			out = append(out, types.DictEntry{Key: oe.Key, Value: oe.Value})
		}
		return out
	}
	return nil
}

// settings are what fairseq records beyond the tensors' shapes.
type settings struct {
	get       func(key string) (any, bool)
	normalize bool
}

// fairseqSettings finds the model's settings: cfg["model"] (and, for a
// fine-tuned model, the pretraining model's in its w2v_args), or the older
// args Namespace (and its w2v_args).
func fairseqSettings(root *types.Dict) settings {
	var scopes []map[string]any
	add := func(v any) {
		switch o := v.(type) {
		case *types.Dict, *types.OrderedDict:
			m := map[string]any{}
			for _, e := range dictEntries(o) {
				if k, ok := e.Key.(string); ok {
					m[k] = e.Value
				}
			}
			scopes = append(scopes, m)
		case *inertObject:
			scopes = append(scopes, o.Dict)
		}
	}
	if cfg, ok := root.Get("cfg"); ok {
		for _, e := range dictEntries(cfg) {
			switch e.Key {
			case "model":
				add(e.Value)
				for _, w := range dictEntries(e.Value) {
					if w.Key == "w2v_args" {
						for _, x := range dictEntries(w.Value) {
							if x.Key == "model" || x.Key == "task" {
								add(x.Value)
							}
						}
					}
				}
			case "task":
				add(e.Value)
			}
		}
	}
	if args, ok := root.Get("args"); ok {
		add(args)
		if o, ok := args.(*inertObject); ok {
			if w, ok := o.Dict["w2v_args"]; ok {
				add(w)
			}
		}
	}
	s := settings{get: func(key string) (any, bool) {
		for _, sc := range scopes {
			if v, ok := sc[key]; ok && v != nil {
				return v, true
			}
		}
		return nil, false
	}}
	s.normalize = true
	if v, ok := s.get("normalize"); ok {
		s.normalize = v == true
	}
	return s
}

// fairseqConfig reads the architecture from the tensors' shapes and the
// settings.
func fairseqConfig(shapes map[string][]int, s settings) (encoder.TransformerConfig, error) {
	c := encoder.TransformerConfig{Eps: 1e-5, FeatureNorm: "group"}
	for i := 0; ; i++ {
		w := shapes[fmt.Sprintf("feature_extractor.conv_layers.%d.conv.weight", i)]
		if len(w) != 3 {
			break
		}
		c.ConvDims = append(c.ConvDims, w[0])
		c.ConvKernels = append(c.ConvKernels, w[2])
		if i > 0 && shapes[fmt.Sprintf("feature_extractor.conv_layers.%d.layer_norm.weight", i)] != nil {
			c.FeatureNorm = "layer"
		}
		if shapes[fmt.Sprintf("feature_extractor.conv_layers.%d.conv.bias", i)] != nil {
			c.ConvBias = true
		}
	}
	if len(c.ConvDims) == 0 {
		return c, errors.New("no feature encoder tensors (feature_extractor.conv_layers.0.0.weight): not a wav2vec 2.0 or HuBERT checkpoint")
	}
	if len(c.ConvDims) == 1 && c.FeatureNorm == "group" && shapes["feature_extractor.conv_layers.0.layer_norm.weight"] == nil {
		return c, errors.New("the feature encoder has no norm")
	}
	if v, ok := s.get("extractor_mode"); ok && v == "layer_norm" {
		c.FeatureNorm = "layer"
	}
	c.ConvStrides = convStrides(c.ConvKernels, s)
	if p := shapes["feature_projection.projection.weight"]; len(p) == 2 {
		c.Dim = p[0]
	}
	c.NoFeatureProjNorm = shapes["feature_projection.layer_norm.weight"] == nil
	for shapes[fmt.Sprintf("encoder.layers.%d.feed_forward.intermediate_dense.weight", c.Layers)] != nil {
		c.Layers++
	}
	if ff := shapes["encoder.layers.0.feed_forward.intermediate_dense.weight"]; len(ff) == 2 {
		c.FF = ff[0]
	}
	if v := shapes["encoder.pos_conv_embed.conv.weight_v"]; len(v) == 3 && v[1] > 0 {
		c.PosKernel, c.PosGroups = v[2], v[0]/v[1]
	}
	c.Heads = settingInt(s, "encoder_attention_heads", 12)
	if v, ok := s.get("layer_norm_first"); ok {
		c.PreLN = v == true
	}
	return c, c.Validate()
}

// settingInt returns an integer setting, def when the file has none.
func settingInt(s settings, key string, def int) int {
	if v, ok := s.get(key); ok {
		if n, ok := v.(int); ok {
			return n
		}
	}
	return def
}

// settingFloat returns a number setting, 0 when the file has none.
func settingFloat(s settings, key string) float64 {
	v, _ := s.get(key)
	return toFloat(v)
}

// toFloat returns a pickled number as a float64 (0 for anything else).
func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

// convStrides returns the feature encoder's strides: from the settings'
// conv_feature_layers, a Python expression such as
// "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] * 2", or, without it,
// the published models' (5, then 2s).
func convStrides(kernels []int, s settings) []int {
	if v, ok := s.get("conv_feature_layers"); ok {
		if str, ok := v.(string); ok {
			if layers, err := parseConvLayers(str); err == nil && len(layers) == len(kernels) {
				strides := make([]int, len(layers))
				for i, l := range layers {
					strides[i] = l[2]
				}
				return strides
			}
		}
	}
	strides := make([]int, len(kernels))
	for i := range strides {
		strides[i] = 2
	}
	strides[0] = 5
	return strides
}

// parseConvLayers evaluates fairseq's conv_feature_layers: lists of
// (dim, kernel, stride) tuples joined by + and repeated by * N. Nothing
// else is accepted, and nothing is run.
func parseConvLayers(expr string) ([][3]int, error) {
	var out [][3]int
	for _, term := range strings.Split(expr, "+") {
		term = strings.TrimSpace(term)
		repeat := 1
		if i := strings.LastIndex(term, "]"); i >= 0 && i < len(term)-1 {
			rest := strings.TrimSpace(term[i+1:])
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(rest, "*")))
			if !strings.HasPrefix(rest, "*") || err != nil || n < 0 || n > 64 {
				return nil, fmt.Errorf("conv_feature_layers: %q", term)
			}
			repeat, term = n, term[:i+1]
		}
		if !strings.HasPrefix(term, "[") || !strings.HasSuffix(term, "]") {
			return nil, fmt.Errorf("conv_feature_layers: %q", term)
		}
		var list [][3]int
		for _, tup := range strings.Split(strings.Trim(term, "[]"), ")") {
			tup = strings.Trim(strings.TrimSpace(tup), ",( ")
			if tup == "" {
				continue
			}
			f := strings.Split(tup, ",")
			if len(f) != 3 {
				return nil, fmt.Errorf("conv_feature_layers: (%s)", tup)
			}
			var l [3]int
			for i, x := range f {
				n, err := strconv.Atoi(strings.TrimSpace(x))
				if err != nil {
					return nil, fmt.Errorf("conv_feature_layers: (%s)", tup)
				}
				l[i] = n
			}
			list = append(list, l)
		}
		for range repeat {
			out = append(out, list...)
			if len(out) > 64 {
				return nil, errors.New("conv_feature_layers: more than 64 layers")
			}
		}
	}
	return out, nil
}

// readDict reads fairseq's dict.ltr.txt: the vocabulary is fairseq's
// Dictionary, <s> <pad> </s> <unk> and then the file's symbols, and the
// blank is <s> (index 0), as fairseq's CTC decoding has it.
func (m *Model) readDict(path string, V int) error {
	d, err := dataset.ReadDict(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("published: %s: the fine-tuned model's vocabulary is missing: fairseq keeps it beside the checkpoint", path)
	}
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	vocab := append([]string{"<s>", "<pad>", "</s>", "<unk>"}, d.Symbols()[1:]...)
	if len(vocab) != V {
		return fmt.Errorf("published: %s: %d symbols with fairseq's 4 special ones, the head has %d outputs", path, len(vocab), V)
	}
	m.Vocab, m.Blank, m.Delimiter = vocab, 0, slices.Index(vocab, "|")
	return nil
}

// Load reads a published model: a Hugging Face folder, or a fairseq .pt
// file.
func Load(path string) (*Model, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	if info.IsDir() {
		return LoadHF(path)
	}
	return LoadFairseq(path)
}

// IsPath reports whether path names what Load reads, not a checkpoint of
// the toolkit's own: a folder, or a .pt file.
func IsPath(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir() || strings.HasSuffix(path, ".pt")
}

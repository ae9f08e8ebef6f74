package encoder

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/wav2vec-go/wav2vec/nn"
)

// TransformerConfig is the architecture of wav2vec 2.0's transformer model,
// as Hugging Face's Wav2Vec2Config and HubertConfig spell it (the JSON
// names are config.json's): a feature encoder of strided convolutions over
// the waveform, a projection, a convolutional positional embedding and a
// stack of transformer layers.
type TransformerConfig struct {
	ConvDims    []int `json:"conv_dim"`    // feature-encoder channels, one per convolution
	ConvKernels []int `json:"conv_kernel"` // 10,3,3,3,3,2,2 in the published models
	ConvStrides []int `json:"conv_stride"` // 5,2,2,2,2,2,2: 320 samples (20 ms) per frame
	ConvBias    bool  `json:"conv_bias"`
	// FeatureNorm is "group" (a GroupNorm with one group per channel, over
	// time, after the first convolution only: the base models) or "layer"
	// (a LayerNorm over channels after every convolution: large, XLS-R).
	FeatureNorm string `json:"feat_extract_norm"`
	Dim         int    `json:"hidden_size"`
	Layers      int    `json:"num_hidden_layers"`
	Heads       int    `json:"num_attention_heads"`
	FF          int    `json:"intermediate_size"`
	PosKernel   int    `json:"num_conv_pos_embeddings"`       // 128
	PosGroups   int    `json:"num_conv_pos_embedding_groups"` // 16
	// PreLN puts each layer's norms before its attention and feed-forward
	// blocks and the encoder's norm after the last layer (Hugging Face's
	// do_stable_layer_norm, fairseq's layer_norm_first: the large models);
	// otherwise the norms follow the residual sums and the encoder's norm
	// comes before the first layer (base).
	PreLN bool    `json:"do_stable_layer_norm"`
	Eps   float64 `json:"layer_norm_eps"`
	// NoFeatureProjNorm leaves out the LayerNorm before the projection
	// (HuBERT's feat_proj_layer_norm false).
	// (HuBERT's feat_proj_layer_norm false). Hugging Face's config.json
	// spells it the other way round; the toolkit's checkpoints keep it
	// under this name.
	NoFeatureProjNorm bool `json:"no_feat_proj_layer_norm,omitempty"`
}

// TransformerBase returns wav2vec 2.0 BASE (95 M parameters): seven
// convolutions of 512 channels (20 ms frames), the "group" feature norm,
// 12 post-LN layers of 768 channels in 12 heads, 3072 feed-forward
// channels, a positional convolution of kernel 128 in 16 groups.
func TransformerBase() TransformerConfig {
	return TransformerConfig{
		ConvDims: []int{512, 512, 512, 512, 512, 512, 512}, ConvKernels: []int{10, 3, 3, 3, 3, 2, 2},
		ConvStrides: []int{5, 2, 2, 2, 2, 2, 2}, FeatureNorm: "group",
		Dim: 768, Layers: 12, Heads: 12, FF: 3072, PosKernel: 128, PosGroups: 16, Eps: 1e-5,
	}
}

// TransformerTiny returns the CPU-sized transformer (3.8 M parameters):
// the convolutional Tiny()'s feature encoder (five convolutions of 128
// channels, 10 ms frames, each followed by a LayerNorm: the "layer"
// feature norm), 4 post-LN layers of 256 channels in 4 heads, 1024
// feed-forward channels, and a positional convolution of kernel 64
// (0.64 s) in 16 groups.
func TransformerTiny() TransformerConfig {
	t := Tiny()
	dims := make([]int, len(t.ConvKernels))
	for i := range dims {
		dims[i] = t.ConvDim
	}
	return TransformerConfig{
		ConvDims: dims, ConvKernels: slices.Clone(t.ConvKernels), ConvStrides: slices.Clone(t.ConvStrides),
		FeatureNorm: "layer", Dim: 256, Layers: 4, Heads: 4, FF: 1024, PosKernel: 64, PosGroups: 16, Eps: 1e-5,
	}
}

// Limits of Validate, far beyond the published models (XLS-R 2B: 1920
// channels, 48 layers), against doctored configs.
const (
	maxTransformerDim    = 8192
	maxTransformerLayers = 256
	maxTransformerConvs  = 32
)

// Validate reports every problem with c at once.
func (c TransformerConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("encoder: transformer: "+format, a...)) }
	n := len(c.ConvDims)
	if n < 1 || n > maxTransformerConvs || len(c.ConvKernels) != n || len(c.ConvStrides) != n {
		bad("%d conv dims, %d kernels, %d strides: want 1 to %d of each", n, len(c.ConvKernels), len(c.ConvStrides), maxTransformerConvs)
	} else {
		for i := range n {
			if c.ConvDims[i] < 1 || c.ConvDims[i] > maxTransformerDim || c.ConvKernels[i] < 1 || c.ConvKernels[i] > 1024 || c.ConvStrides[i] < 1 || c.ConvStrides[i] > 1024 {
				bad("conv %d: %d channels, kernel %d, stride %d", i, c.ConvDims[i], c.ConvKernels[i], c.ConvStrides[i])
			}
		}
	}
	if c.FeatureNorm != "group" && c.FeatureNorm != "layer" {
		bad("feat_extract_norm %q: want group or layer", c.FeatureNorm)
	}
	if c.Dim < 1 || c.Dim > maxTransformerDim || c.Heads < 1 || c.Dim%max(c.Heads, 1) != 0 {
		bad("hidden_size %d in %d heads: want 1 to %d, a multiple of the heads", c.Dim, c.Heads, maxTransformerDim)
	}
	if c.Layers < 0 || c.Layers > maxTransformerLayers {
		bad("num_hidden_layers %d: want 0 to %d", c.Layers, maxTransformerLayers)
	}
	if c.FF < 1 || c.FF > 4*maxTransformerDim {
		bad("intermediate_size %d: want 1 to %d", c.FF, 4*maxTransformerDim)
	}
	if c.PosKernel < 1 || c.PosKernel > 1024 || c.PosGroups < 1 || c.Dim%max(c.PosGroups, 1) != 0 {
		bad("positional convolution of kernel %d in %d groups for %d channels", c.PosKernel, c.PosGroups, c.Dim)
	}
	if !(c.Eps > 0 && c.Eps < 1) {
		bad("layer_norm_eps %g: want between 0 and 1", c.Eps)
	}
	return errors.Join(errs...)
}

// Frames returns the number of frames of L samples (0 when L is too short).
func (c TransformerConfig) Frames(L int) int {
	for i, k := range c.ConvKernels {
		if L < k {
			return 0
		}
		L = (L-k)/c.ConvStrides[i] + 1
	}
	return L
}

// Transformer holds a transformer model's parameters, named as Hugging
// Face names them without the model's prefix ("feature_extractor...",
// "feature_projection...", "encoder..."). Its methods add its layers to a
// graph; it is safe for concurrent graph building.
type Transformer struct {
	Config TransformerConfig

	convs      []*nn.Conv1d
	convNorms  []*nn.LayerNorm // layer mode: one per conv
	groupNorm  *nn.GroupNorm   // group mode: after conv 0
	projNorm   *nn.LayerNorm   // nil without it
	proj       *nn.Linear
	posV, posG *nn.Param // weight-normed positional convolution
	posB       *nn.Param
	norm       *nn.LayerNorm
	layers     []*transformerLayer
	MaskEmb    *nn.Param // masked_spec_embed [Dim]

	params   nn.Params
	nFeature int
}

// transformerLayer is one post-LN or pre-LN transformer layer.
type transformerLayer struct {
	q, k, v, out *nn.Linear
	norm         *nn.LayerNorm // after (post-LN) or before (pre-LN) the attention
	ff1, ff2     *nn.Linear
	finalNorm    *nn.LayerNorm
}

// NewTransformer returns a model with random weights drawn from rng, or,
// with a nil rng, with zero weights (norm gains 1) that a checkpoint is
// about to overwrite, and no gradients until a trainer allocates them
// (nn.DropGrads).
func NewTransformer(cfg TransformerConfig, rng *rand.Rand) (*Transformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Transformer{Config: cfg}
	ps := &m.params
	ps.NoGrad = rng == nil // weights to load: gradients come with training
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	in := 1
	for i, out := range cfg.ConvDims {
		name := fmt.Sprintf("feature_extractor.conv_layers.%d", i)
		conv, err := nn.NewConv1d(ps, name+".conv", nn.Conv1dConfig{In: in, Out: out, Kernel: cfg.ConvKernels[i],
			Stride: cfg.ConvStrides[i], NoBias: !cfg.ConvBias}, rng)
		keep(err)
		m.convs = append(m.convs, conv)
		switch {
		case cfg.FeatureNorm == "layer":
			n, err := nn.NewLayerNorm(ps, name+".layer_norm", out)
			keep(err)
			m.convNorms = append(m.convNorms, n)
		case i == 0:
			m.groupNorm, err = nn.NewGroupNorm(ps, name+".layer_norm", out, out)
			keep(err)
		}
		in = out
	}
	m.nFeature = ps.Len()
	var err error
	if !cfg.NoFeatureProjNorm {
		m.projNorm, err = nn.NewLayerNorm(ps, "feature_projection.layer_norm", in)
		keep(err)
		m.projNorm.Eps = cfg.Eps
	}
	m.proj, err = nn.NewLinear(ps, "feature_projection.projection", in, cfg.Dim, false, rng)
	keep(err)
	m.MaskEmb = ps.New("masked_spec_embed", cfg.Dim)
	m.posB = ps.New("encoder.pos_conv_embed.conv.bias", cfg.Dim)
	m.posG = ps.New("encoder.pos_conv_embed.conv.weight_g", 1, 1, cfg.PosKernel)
	m.posV = ps.New("encoder.pos_conv_embed.conv.weight_v", cfg.Dim, cfg.Dim/cfg.PosGroups, cfg.PosKernel)
	for i := range m.posG.Data {
		m.posG.Data[i] = 1
	}
	if rng != nil {
		for i := range m.MaskEmb.Data {
			m.MaskEmb.Data[i] = float32(rng.Float64())
		}
		for i := range m.posV.Data {
			m.posV.Data[i] = float32(rng.NormFloat64())
		}
	}
	m.norm, err = nn.NewLayerNorm(ps, "encoder.layer_norm", cfg.Dim)
	keep(err)
	m.norm.Eps = cfg.Eps
	for i := range cfg.Layers {
		name := fmt.Sprintf("encoder.layers.%d.", i)
		l := &transformerLayer{}
		lin := func(n string, in, out int) *nn.Linear {
			x, err := nn.NewLinear(ps, name+n, in, out, false, rng)
			keep(err)
			return x
		}
		ln := func(n string) *nn.LayerNorm {
			x, err := nn.NewLayerNorm(ps, name+n, cfg.Dim)
			keep(err)
			if x != nil {
				x.Eps = cfg.Eps
			}
			return x
		}
		l.k = lin("attention.k_proj", cfg.Dim, cfg.Dim)
		l.v = lin("attention.v_proj", cfg.Dim, cfg.Dim)
		l.q = lin("attention.q_proj", cfg.Dim, cfg.Dim)
		l.out = lin("attention.out_proj", cfg.Dim, cfg.Dim)
		l.norm = ln("layer_norm")
		l.ff1 = lin("feed_forward.intermediate_dense", cfg.Dim, cfg.FF)
		l.ff2 = lin("feed_forward.output_dense", cfg.FF, cfg.Dim)
		l.finalNorm = ln("final_layer_norm")
		m.layers = append(m.layers, l)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encoder: NewTransformer: %w", err)
	}
	return m, nil
}

// Params returns every parameter, feature encoder first. The slice belongs
// to the model.
func (m *Transformer) Params() []*nn.Param { return m.params.List() }

// Param returns the parameter of that name, nil if there is none.
func (m *Transformer) Param(name string) *nn.Param { return m.params.Get(name) }

// FeatureParams returns the feature encoder's parameters.
func (m *Transformer) FeatureParams() []*nn.Param { return m.params.List()[:m.nFeature] }

// Features maps a waveform [B, 1, L] to the feature encoder's output
// [B, ConvDims[last], Frames(L)]: each convolution followed by its norm (if
// any) and GELU.
func (m *Transformer) Features(g *nn.Graph, x *nn.Node) *nn.Node {
	for i, conv := range m.convs {
		x = conv.Forward(g, x)
		switch {
		case m.convNorms != nil:
			x = m.convNorms[i].Forward(g, x)
		case i == 0:
			x = m.groupNorm.Forward(g, x)
		}
		x = g.GELU(x)
	}
	return x
}

// TransformerOutput holds the nodes of a forward pass.
type TransformerOutput struct {
	Features *nn.Node   // the feature encoder's output [B, C, T]
	Layers   []*nn.Node // each layer's output [B, Dim, T]
	Out      *nn.Node   // the encoder's output [B, Dim, T]
}

// Forward runs the model on feats [B, C, T] (Features' output). valid, if
// not nil, is [B, 1, T] with 1 for each utterance's real frames and 0 for
// padding: padded frames are zeroed before the positional convolution and
// attend to nothing, so that a padded utterance's real frames get what the
// utterance alone gets (for the "layer" feature norm; the "group" norm's
// statistics run over the padding too).
func (m *Transformer) Forward(g *nn.Graph, feats, valid *nn.Node) TransformerOutput {
	out := TransformerOutput{Features: feats}
	out.Out = m.Context(g, m.Project(g, feats, valid), valid, ContextOptions{Layers: &out.Layers})
	return out
}

// Project maps feats [B, C, T] to the transformer's width [B, Dim, T]
// (LayerNorm, if the model has it, and the projection), zeroing padded
// frames when valid is not nil: the input of Context, where training
// masks frames (MaskEmb) and channels.
func (m *Transformer) Project(g *nn.Graph, feats, valid *nn.Node) *nn.Node {
	_, x := m.Embed(g, feats)
	if valid != nil {
		x = g.MulFrames(x, valid)
	}
	return x
}

// Embed returns z, feats through the LayerNorm before the projection
// (feats itself without it), which wav2vec 2.0's quantizer reads, and
// proj, z projected to [B, Dim, T], the input of Context.
func (m *Transformer) Embed(g *nn.Graph, feats *nn.Node) (z, proj *nn.Node) {
	z = feats
	if m.projNorm != nil {
		z = m.projNorm.Forward(g, z)
	}
	return z, m.proj.Forward(g, z)
}

// ContextOptions are Context's optional outputs and its training-time
// regularisation.
type ContextOptions struct {
	// Layers, when not nil, receives each layer's output.
	Layers *[]*nn.Node
	// Keep, when not nil, holds one [B, 1, T] node per layer, all ones to
	// run the layer and all zeros to skip it (fairseq's and Hugging Face's
	// layerdrop, drawn per batch): a skipped layer passes its input on
	// unchanged and its weights get no gradient.
	Keep []*nn.Node
	// ActivationDropout is the dropout after each feed-forward GELU (in a
	// training graph only).
	ActivationDropout float64
}

// Context runs the positional embedding and the layers on the projected
// features x [B, Dim, T] (masked frames already replaced).
func (m *Transformer) Context(g *nn.Graph, x, valid *nn.Node, opt ContextOptions) *nn.Node {
	c := m.Config
	w := g.WeightNorm(g.Param(m.posV), g.Param(m.posG))
	// PyTorch pads K/2 frames on both sides and, for an even kernel, drops
	// the last output frame: the same as padding one frame less on the right.
	pad := c.PosKernel / 2
	pos := g.Conv1d(x, w, g.Param(m.posB), nn.ConvOpts{Groups: c.PosGroups, PadLeft: pad, PadRight: pad - 1 + c.PosKernel%2})
	x = g.Add(x, g.GELU(pos))
	if !c.PreLN {
		x = m.norm.Forward(g, x)
	}
	for i, l := range m.layers {
		y := l.forward(g, x, valid, c, opt.ActivationDropout)
		if opt.Keep != nil {
			y = g.Add(x, g.MulFrames(g.Sub(y, x), opt.Keep[i]))
		}
		x = y
		if opt.Layers != nil {
			*opt.Layers = append(*opt.Layers, x)
		}
	}
	if c.PreLN {
		x = m.norm.Forward(g, x)
	}
	return x
}

func (l *transformerLayer) forward(g *nn.Graph, x, valid *nn.Node, c TransformerConfig, actDropout float64) *nn.Node {
	attend := func(h *nn.Node) *nn.Node {
		a := g.Attention(l.q.Forward(g, h), l.k.Forward(g, h), l.v.Forward(g, h), valid, c.Heads)
		return l.out.Forward(g, a)
	}
	ff := func(h *nn.Node) *nn.Node {
		return l.ff2.Forward(g, g.Dropout(g.GELU(l.ff1.Forward(g, h)), actDropout))
	}
	if c.PreLN {
		x = g.Add(x, attend(l.norm.Forward(g, x)))
		return g.Add(x, ff(l.finalNorm.Forward(g, x)))
	}
	x = l.norm.Forward(g, g.Add(x, attend(x)))
	return l.finalNorm.Forward(g, g.Add(x, ff(x)))
}

// ParamShapes returns the parameters NewTransformer makes for c, in the
// same order, without allocating them, each dimension with the config.json
// field it comes from (see Config.ParamShapes). c must be valid.
func (c TransformerConfig) ParamShapes() []nn.ParamShape {
	var ps shapeList
	add, norm := ps.add, ps.norm
	convs := fmt.Sprintf("conv_dim (%d convolutions)", len(c.ConvDims))
	in := nn.Dim{Size: 1}
	for i, ch := range c.ConvDims {
		name := fmt.Sprintf("feature_extractor.conv_layers.%d", i)
		out := nn.Dim{Size: ch, Field: fmt.Sprintf("conv_dim[%d]", i)}
		add(name+".conv.weight", convs, out, in, nn.Dim{Size: c.ConvKernels[i], Field: fmt.Sprintf("conv_kernel[%d]", i)})
		if c.ConvBias {
			add(name+".conv.bias", "conv_bias", out)
		}
		if c.FeatureNorm == "layer" || i == 0 {
			norm(name+".layer_norm", "feat_extract_norm", out)
		}
		in = out
	}
	dim := nn.Dim{Size: c.Dim, Field: "hidden_size"}
	if !c.NoFeatureProjNorm {
		norm("feature_projection.layer_norm", "feat_proj_layer_norm", in)
	}
	add("feature_projection.projection.weight", "", dim, in)
	add("feature_projection.projection.bias", "", dim)
	add("masked_spec_embed", "", dim)
	add("encoder.pos_conv_embed.conv.bias", "", dim)
	kernel := nn.Dim{Size: c.PosKernel, Field: "num_conv_pos_embeddings"}
	add("encoder.pos_conv_embed.conv.weight_g", "", nn.Dim{Size: 1}, nn.Dim{Size: 1}, kernel)
	add("encoder.pos_conv_embed.conv.weight_v", "", dim, nn.Dim{Size: c.Dim / c.PosGroups, Field: "num_conv_pos_embedding_groups"}, kernel)
	norm("encoder.layer_norm", "", dim)
	layers := fmt.Sprintf("num_hidden_layers (%d layers)", c.Layers)
	ff := nn.Dim{Size: c.FF, Field: "intermediate_size"}
	for i := range c.Layers {
		name := fmt.Sprintf("encoder.layers.%d.", i)
		for _, p := range []string{"k_proj", "v_proj", "q_proj", "out_proj"} {
			add(name+"attention."+p+".weight", layers, dim, dim)
			add(name+"attention."+p+".bias", layers, dim)
		}
		norm(name+"layer_norm", layers, dim)
		add(name+"feed_forward.intermediate_dense.weight", layers, ff, dim)
		add(name+"feed_forward.intermediate_dense.bias", layers, ff)
		add(name+"feed_forward.output_dense.weight", layers, dim, ff)
		add(name+"feed_forward.output_dense.bias", layers, dim)
		norm(name+"final_layer_norm", layers, dim)
	}
	return ps
}

// FLOPs returns the floating-point operations of one forward pass over L
// samples (2 per multiply-add): the convolutions, the projections and the
// attention, which grows with the square of the frames.
func (c TransformerConfig) FLOPs(L int) float64 {
	T, D := float64(c.Frames(L)), float64(c.Dim)
	f := c.FeatureFLOPs(L)
	f += 2 * float64(c.ConvDims[len(c.ConvDims)-1]) * D * T          // projection
	f += 2 * D * D / float64(c.PosGroups) * float64(c.PosKernel) * T // positional convolution
	f += float64(c.Layers) * (8*D*D*T + 4*D*float64(c.FF)*T + 4*T*T*D)
	return f
}

// FeatureFLOPs returns the part of FLOPs(L) that the feature encoder's
// convolutions take.
func (c TransformerConfig) FeatureFLOPs(L int) float64 {
	var f float64
	in, n := 1, L
	for i, out := range c.ConvDims {
		n = (n-c.ConvKernels[i])/c.ConvStrides[i] + 1
		f += 2 * float64(out*in*c.ConvKernels[i]) * float64(n)
		in = out
	}
	return f
}

// Input returns the Input of a transformer model: its waveform, framed by
// its convolutions.
func (c TransformerConfig) Input() (*Input, error) {
	return NewInput(Config{Input: "wave", ConvKernels: c.ConvKernels, ConvStrides: c.ConvStrides})
}

// Reach returns how far, in frames, the model's convolutions look on each
// side of a frame (the positional convolution's half kernel). Attention
// sees the whole window, so a window's output is close to the whole
// input's, not equal to it, whatever the margin.
func (c TransformerConfig) Reach() int { return c.PosKernel / 2 }

package pretrain

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/quantizer"
)

// Model is the network being pretrained: the encoder (feature encoder and
// context network), the quantizer, and the two projections to FinalDim
// that the contrastive loss compares (fairseq's final_proj and project_q).
// With cluster targets ("mfcc" or "c"), project_q embeds each frame's
// cluster (a one-hot vector of Clusters values) instead of its code, and
// the quantizer is not trained. With the teacher targets ("teacher") there
// are no projections but Head, and an EMA teacher (teacher.go).
type Model struct {
	Config FullConfig // with the pretraining defaults filled in
	// Encoder is the convolutional network, nil with Transformer, wav2vec
	// 2.0's (FullConfig.Transformer).
	Encoder     *encoder.Model
	Transformer *encoder.Transformer
	Quantizer   *quantizer.Quantizer
	FinalProj   *nn.Linear // pretrain.final_proj: c [Dim] -> FinalDim
	ProjectQ    *nn.Linear // pretrain.project_q: q [quantizer Dim] -> FinalDim
	// Head is the regression head of the teacher targets,
	// pretrain.head: c [Dim] -> Dim, or the decoder's output
	// [DecoderDim] -> Dim after the decoder (nil for the other targets,
	// which have FinalProj and ProjectQ instead).
	Head *nn.Linear
	// decoder is data2vec 2.0's convolutional decoder before Head (nil
	// without DecoderLayers).
	decoder *decoder

	input    *encoder.Input // the waveform, or its log-mel features
	clusters *kmeans        // the cluster targets' k-means, once fitted
	teacher  *teacher       // the teacher targets' EMA teacher, made by the trainer
	params   nn.Params
}

// New returns a freshly initialised model with parameters drawn from rng.
func New(cfg FullConfig, rng *rand.Rand) (*Model, error) {
	if rng == nil {
		return nil, errors.New("pretrain: New: nil random generator")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg}
	var err error
	var featDim, dim int
	if tc := cfg.Transformer; tc != nil {
		if m.Transformer, err = encoder.NewTransformer(*tc, rng); err != nil {
			return nil, err
		}
		if m.input, err = tc.Input(); err != nil {
			return nil, err
		}
		featDim, dim = tc.ConvDims[len(tc.ConvDims)-1], tc.Dim
	} else {
		if m.Encoder, err = encoder.New(cfg.Encoder, rng); err != nil {
			return nil, err
		}
		if m.input, err = encoder.NewInput(m.Encoder.Config); err != nil {
			return nil, err
		}
		m.Config.Encoder = m.Encoder.Config
		featDim, dim = m.input.FeatureDim(), m.Encoder.Config.Dim
	}
	if m.Quantizer, err = quantizer.New(cfg.Quantizer, featDim, rng); err != nil {
		return nil, err
	}
	m.Config.Quantizer = m.Quantizer.Config
	if m.teacherTargets() {
		in := dim
		if pc := m.Config.Pretrain; pc.DecoderLayers > 0 {
			if m.decoder, err = newDecoder(&m.params, pc, dim, rng); err != nil {
				return nil, err
			}
			in = pc.DecoderDim
		}
		if m.Head, err = nn.NewLinear(&m.params, "pretrain.head", in, dim, false, rng); err != nil {
			return nil, fmt.Errorf("pretrain: %w", err)
		}
		return m, nil
	}
	fd := m.Config.Pretrain.FinalDim
	if m.FinalProj, err = nn.NewLinear(&m.params, "pretrain.final_proj", dim, fd, false, rng); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	qDim := m.Quantizer.Config.Dim
	if m.clusterTargets() {
		qDim = m.Config.Pretrain.Clusters
	}
	if m.ProjectQ, err = nn.NewLinear(&m.params, "pretrain.project_q", qDim, fd, false, rng); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if !m.clusterTargets() {
		m.centreProjectQ()
	}
	return m, nil
}

// ParamShapes returns the parameters New makes for cfg that Params lists,
// in the same order, without allocating them: names and shapes, each
// dimension with the config field it comes from, for checking a
// checkpoint's tensors against its config (nn.Checkpoint.CheckShapes)
// before New. cfg must be valid.
func (cfg FullConfig) ParamShapes() []nn.ParamShape {
	pc := cfg.Pretrain
	var ps []nn.ParamShape
	var feat, dim nn.Dim
	if tc := cfg.Transformer; tc != nil {
		ps = tc.ParamShapes()
		feat = nn.Dim{Size: tc.ConvDims[len(tc.ConvDims)-1], Field: "transformer.conv_dim"}
		dim = nn.Dim{Size: tc.Dim, Field: "transformer.hidden_size"}
	} else {
		ps = cfg.Encoder.ParamShapes()
		feat = cfg.Encoder.FeatureDim()
		dim = nn.Dim{Size: cfg.Encoder.WithDefaults().Dim, Field: "encoder.dim"}
	}
	if pc.Targets == TargetsTeacher {
		in := dim
		if pc.DecoderLayers > 0 {
			ps = append(ps, decoderShapes(pc, dim)...)
			in = nn.Dim{Size: pc.DecoderDim, Field: "pretrain.decoder_dim"}
		}
		return append(ps,
			nn.ParamShape{Name: "pretrain.head.weight", Dims: []nn.Dim{dim, in}},
			nn.ParamShape{Name: "pretrain.head.bias", Dims: []nn.Dim{dim}})
	}
	qDim := nn.Dim{Size: cfg.Quantizer.WithDefaults().Dim, Field: "quantizer.dim"}
	if pc.Targets != TargetsQuantizer {
		qDim = nn.Dim{Size: pc.Clusters, Field: "pretrain.clusters"}
	} else {
		ps = append(ps, cfg.Quantizer.ParamShapes(feat)...)
	}
	fd := nn.Dim{Size: pc.FinalDim, Field: "pretrain.final_dim"}
	return append(ps,
		nn.ParamShape{Name: "pretrain.final_proj.weight", Dims: []nn.Dim{fd, dim}},
		nn.ParamShape{Name: "pretrain.final_proj.bias", Dims: []nn.Dim{fd}},
		nn.ParamShape{Name: "pretrain.project_q.weight", Dims: []nn.Dim{fd, qDim}},
		nn.ParamShape{Name: "pretrain.project_q.bias", Dims: []nn.Dim{fd}})
}

// ownPrefixes are the prefixes of the names of a pretraining checkpoint's
// parameters: every tensor under them must be one the config describes.
var ownPrefixes = []string{"encoder.", "feature_extractor.", "feature_projection.", "masked_spec_embed", "quantizer.", "pretrain."}

// bodyParams returns the encoder's or the transformer's parameters.
func (m *Model) bodyParams() []*nn.Param {
	if m.Transformer != nil {
		return m.Transformer.Params()
	}
	return m.Encoder.Params()
}

// embed adds the feature encoder and the projection to g: feats (the
// feature encoder's output, the input itself for log-mel), z (feats
// normalised, the quantizer's input) and proj (the context network's
// input, before masking).
func (m *Model) embed(g *nn.Graph, x *nn.Node) (feats, z, proj *nn.Node) {
	if t := m.Transformer; t != nil {
		feats = t.Features(g, x)
		z, proj = t.Embed(g, feats)
		return feats, z, proj
	}
	feats = m.Encoder.Features(g, x)
	z, proj = m.Encoder.Embed(g, feats)
	return feats, z, proj
}

// mask replaces the frames of proj where mask [B, 1, T] is 1 by the mask
// embedding.
func (m *Model) mask(g *nn.Graph, proj, mask *nn.Node) *nn.Node {
	if m.Transformer != nil {
		return g.MaskFrames(proj, mask, g.Param(m.Transformer.MaskEmb))
	}
	return m.Encoder.Mask(g, proj, mask)
}

// context adds the context network to g: c [B, Dim, T] of x [B, Dim, T].
func (m *Model) context(g *nn.Graph, x *nn.Node) *nn.Node {
	if m.Transformer != nil {
		return m.Transformer.Context(g, x, nil, encoder.ContextOptions{})
	}
	return m.Encoder.Context(g, x, nil)
}

// Dim returns the context vectors' channels.
func (m *Model) Dim() int {
	if m.Transformer != nil {
		return m.Transformer.Config.Dim
	}
	return m.Encoder.Config.Dim
}

// reach returns how far, in frames, the context network looks on each
// side of a frame (see encoder.Config.Reach).
func (m *Model) reach() int {
	if m.Transformer != nil {
		return m.Transformer.Config.Reach()
	}
	return m.Encoder.Config.Reach()
}

// clusterTargets reports whether the targets are k-means clusters (of
// MFCCs or a teacher's c).
func (m *Model) clusterTargets() bool {
	t := m.Config.Pretrain.Targets
	return t == TargetsMFCC || t == TargetsContext
}

// quantizerTargets reports whether the targets are the quantizer's codes,
// which train the quantizer.
func (m *Model) quantizerTargets() bool { return m.Config.Pretrain.Targets == TargetsQuantizer }

// teacherTargets reports whether the targets are data2vec's EMA teacher's.
func (m *Model) teacherTargets() bool { return m.Config.Pretrain.Targets == TargetsTeacher }

// centreProjectQ sets project_q's bias to -W*mean, where mean is the
// average codebook row of each group: the projected targets start centred
// on zero. The codebooks start uniform in [0, 1) (as fairseq), so without
// this every projected target shares a large common component, their
// cosine similarities are all about 0.95, and the contrastive loss sits at
// chance for hundreds of updates until the bias has learnt to remove it.
func (m *Model) centreProjectQ() {
	q := m.Quantizer
	G, V := q.Config.Groups, q.Config.Codes
	d := q.Config.Dim / G
	mean := make([]float64, q.Config.Dim) // per q channel g*d + j
	cv := q.Codevectors.Data
	for g := range G {
		for v := range V {
			row := cv[(g*V+v)*d : (g*V+v+1)*d]
			for j, x := range row {
				mean[g*d+j] += float64(x) / float64(V)
			}
		}
	}
	w, b := m.ProjectQ.Weight.Data, m.ProjectQ.Bias.Data
	in := q.Config.Dim
	for o := range b {
		var s float64
		for i := range in {
			s += float64(w[o*in+i]) * mean[i]
		}
		b[o] = float32(-s)
	}
}

// Params returns every parameter: the encoder's, the quantizer's (with
// the quantizer's targets) and the projections' (or the head's). The
// teacher's are not parameters: nothing trains them.
func (m *Model) Params() []*nn.Param {
	var ps []*nn.Param
	ps = append(ps, m.bodyParams()...)
	if m.quantizerTargets() {
		ps = append(ps, m.Quantizer.Params()...)
	}
	return append(ps, m.params.List()...)
}

// trainGraph is one compiled graph of the pretraining loss for batches of
// B crops of L samples: in training mode (Gumbel noise, dropout, gradients)
// or for validation (argmax codes, no dropout, forward only).
type trainGraph struct {
	B, L, T  int
	prog     *nn.Program
	x        *nn.Node // [B, 1, L], or [B, LogMelBins, frames] for the logmel input
	mask     *nn.Node // [B, 1, T]
	targets  *nn.Node // [B, Clusters, T] one-hot, for cluster targets
	quant    quantizer.Out
	contrast *nn.Contrastive
	loss     *nn.Node
	parts    [3]*nn.Node // contrastive (or regression), diversity (nil for clusters), feature penalty
	train    bool
	reg      *regression // the teacher targets' inputs and teacher program

	clusterPPL float64 // perplexity of the masked frames' clusters
}

// Close releases the compiled program.
func (tg *trainGraph) Close() error {
	if tg.reg != nil {
		tg.reg.tprog.Close()
	}
	return tg.prog.Close()
}

// buildGraph builds and compiles the loss graph:
//
//	feats = Features(x)                         [B, ConvDim, T] (logmel: x itself)
//	z, proj = Embed(feats)
//	c = Context(Mask(proj, mask))               [B, Dim, T]
//	q = Quantize(z)                             [B, qDim, T]
//	loss = Contrastive(FinalProj(c), ProjectQ(q), mask)
//	     + alpha * Diversity(logits, mask) + beta * mean(feats^2)
//
// With cluster targets q is the one-hot cluster of each frame, set as
// an input, and there is no diversity term.
//
// The feature penalty keeps the feature encoder's output small; the logmel
// input has no feature encoder, so it has no penalty.
//
// A graph for B rows of a batch of total rows split over processes weighs
// the feature penalty by B/total, its share of the whole batch's mean.
func (m *Model) buildGraph(B, L, total int, train bool, seed uint64) (*trainGraph, error) {
	T := m.Frames(L)
	if T < encoder.MinMaskSpans {
		return nil, fmt.Errorf("pretrain: crops of %d samples give %d frames, want at least %d", L, T, encoder.MinMaskSpans)
	}
	if m.teacherTargets() {
		return m.buildRegressionGraph(B, L, total, train, seed)
	}
	pc := m.Config.Pretrain
	g := nn.NewGraph()
	g.Training = train
	g.Seed = seed
	tg := &trainGraph{B: B, L: L, T: T, train: train}
	tg.x = g.Input("input", m.input.Shape(B, L)...)
	tg.mask = g.Input("mask", B, 1, T)
	feats, z, proj := m.embed(g, tg.x)
	c := m.context(g, m.mask(g, proj, tg.mask))
	var q, div *nn.Node
	if m.clusterTargets() {
		tg.targets = g.Input("targets", B, pc.Clusters, T)
		q = tg.targets
	} else {
		tg.quant = m.Quantizer.Forward(g, z, train)
		q = tg.quant.Q
	}
	cp := m.FinalProj.Forward(g, c)
	qp := m.ProjectQ.Forward(g, q)
	con, h := g.ContrastiveLoss(cp, qp, tg.mask, pc.Negatives, pc.LogitTemp)
	tg.contrast = h
	loss := con
	outs := []*nn.Node{con}
	if !m.clusterTargets() {
		div = m.Quantizer.Diversity(g, tg.quant, tg.mask)
		if pc.DiversityWeight != 0 {
			loss = g.Add(loss, g.Scale(div, pc.DiversityWeight))
		}
		outs = append(outs, div)
	}
	pen, loss, outs := m.featurePenalty(g, feats, loss, outs, B, total)
	tg.parts = [3]*nn.Node{con, div, pen}
	tg.loss = loss
	var err error
	if train {
		tg.prog, err = g.Compile(loss, outs...)
	} else {
		tg.prog, err = g.Compile(nil, append([]*nn.Node{loss}, outs...)...)
	}
	if err != nil {
		return nil, fmt.Errorf("pretrain: building the %dx%d graph: %w", B, L, err)
	}
	return tg, nil
}

// featurePenalty adds to loss, for the waveform input, the mean square of
// the features times FeaturePenalty (times B/total, this part's share of a
// batch of total rows), and appends the penalty to outs; for log-mel it
// returns a nil penalty and loss and outs as they were.
func (m *Model) featurePenalty(g *nn.Graph, feats, loss *nn.Node, outs []*nn.Node, B, total int) (*nn.Node, *nn.Node, []*nn.Node) {
	if m.input.Mel() != nil {
		return nil, loss, outs
	}
	pen := g.Mean(g.Square(feats))
	outs = append(outs, pen)
	if w := m.Config.Pretrain.FeaturePenalty; w != 0 {
		if total != B {
			w *= float64(B) / float64(total)
		}
		loss = g.Add(loss, g.Scale(pen, w))
	}
	return pen, loss, outs
}

// stepResult is what one run of a loss graph measured.
type stepResult struct {
	Loss, Contrastive, Diversity, FeaturePenalty float64
	Perplexity, Accuracy, MaskedFrames           float64
	// The teacher targets: the regression loss (this graph's share of the
	// batch's), and the sums over the masked frames of the averaged
	// targets and their squares per channel, then the frame count.
	Regression float64
	TargetSums []float64
}

// prepare sets the graph's inputs for a batch: the audio, the span masks,
// the distractors, the Gumbel noise and the temperature, all random draws
// from rng, or, for cluster targets, each frame's cluster.
func (m *Model) prepare(tg *trainGraph, audio []float32, rng *rand.Rand, temp float64) error {
	return m.preparePart(tg, audio, rng, temp, 0, tg.B)
}

// preparePart is prepare for rows first to first+B-1 (audio) of a batch
// of total rows split over processes: it draws the masks, distractors and
// noise of the whole batch and keeps these rows', and makes the
// contrastive loss divide by the masked frames of the whole batch.
func (m *Model) preparePart(tg *trainGraph, audio []float32, rng *rand.Rand, temp float64, first, total int) error {
	if tg.reg != nil {
		return m.prepareRegression(tg, audio, rng, first, total)
	}
	pc := m.Config.Pretrain
	B, T, K := tg.B, tg.T, pc.Negatives
	rows := make([][]float32, B)
	for b := range B {
		rows[b] = audio[b*tg.L : (b+1)*tg.L]
	}
	tg.prog.Set(tg.x, m.input.Batch(rows, tg.L))
	mask := make([]float32, total*T)
	idx := make([]int32, total*T*K)
	masked := make([]int, 0, T)
	var all float64
	for b := range total {
		row := mask[b*T : (b+1)*T]
		encoder.SpanMask(rng, row, pc.MaskProb, pc.MaskLength)
		masked = masked[:0]
		for t, v := range row {
			if v != 0 {
				masked = append(masked, t)
			}
		}
		all += float64(len(masked))
		Distractors(rng, idx[b*T*K:(b+1)*T*K], masked, T, K)
	}
	mask, idx = mask[first*T:(first+B)*T], idx[first*T*K:(first+B)*T*K]
	tg.prog.Set(tg.mask, mask)
	if err := tg.contrast.SetDistractors(idx); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	if total != B {
		tg.contrast.SetNorm(all)
	}
	if m.clusterTargets() {
		return m.setClusters(tg, rows, mask)
	}
	if tg.train {
		m.Quantizer.FillNoisePart(tg.prog, tg.quant, rng, first)
		m.Quantizer.SetTemperature(tg.quant, temp)
	}
	return nil
}

// run runs the graph (forward, and backward in training) and reads the
// losses and statistics.
func (m *Model) run(tg *trainGraph) (stepResult, error) {
	if tg.reg != nil {
		return m.runRegression(tg)
	}
	if err := tg.prog.Run(); err != nil {
		return stepResult{}, fmt.Errorf("pretrain: %w", err)
	}
	r := stepResult{
		Loss:        float64(tg.prog.Value(tg.loss)[0]),
		Contrastive: float64(tg.prog.Value(tg.parts[0])[0]),
		Perplexity:  tg.clusterPPL,
	}
	if tg.parts[1] != nil {
		r.Diversity = float64(tg.prog.Value(tg.parts[1])[0])
		r.Perplexity = m.Quantizer.Perplexity(tg.prog, tg.quant)
	}
	if tg.parts[2] != nil {
		r.FeaturePenalty = float64(tg.prog.Value(tg.parts[2])[0])
	}
	r.Accuracy, r.MaskedFrames = tg.contrast.Accuracy()
	return r, nil
}

// Frames returns the number of frames that n samples give (0 when they are
// too short for one).
func (m *Model) Frames(n int) int { return m.input.Frames(n) }

// MinSamples returns the shortest input, in samples, that gives one frame.
func (m *Model) MinSamples() int { return m.input.MinSamples() }

// setClusters sets the one-hot cluster targets of a batch's rows and
// measures the perplexity of the masked frames' clusters.
func (m *Model) setClusters(tg *trainGraph, rows [][]float32, mask []float32) error {
	if m.clusters == nil {
		return errors.New("pretrain: the cluster targets' k-means is not fitted")
	}
	K, T := m.Config.Pretrain.Clusters, tg.T
	onehot := make([]float32, tg.B*K*T)
	ids := make([]int32, T)
	counts := make([]float64, K)
	var n float64
	for b, row := range rows {
		m.clusters.frameTargets(row, T, ids)
		for t, k := range ids {
			onehot[(b*K+int(k))*T+t] = 1
			if mask[b*T+t] != 0 {
				counts[k]++
				n++
			}
		}
	}
	tg.prog.Set(tg.targets, onehot)
	for k := range counts {
		counts[k] /= max(n, 1)
	}
	tg.clusterPPL = nn.Perplexity(counts)
	return nil
}

// Hop returns the number of 16 kHz samples between two frames.
func (m *Model) Hop() int { return m.input.Hop() }

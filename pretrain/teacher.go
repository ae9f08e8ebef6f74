package pretrain

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

// teacher is data2vec's EMA teacher: a copy of the student's body (the
// feature encoder and the context network, not the head) whose weights
// follow the student's, teacher = tau*teacher + (1-tau)*student, after
// every update. It runs forward only, on the unmasked input, in inference
// mode (no dropout).
type teacher struct {
	enc    *encoder.Model
	tr     *encoder.Transformer
	params []*nn.Param // in the order of the student's bodyParams
}

// tensorTeacher prefixes the teacher's weights in a checkpoint (extra
// tensors: nothing trains them), followed by the student's names.
const tensorTeacher = "pretrain.teacher."

// newTeacher returns a teacher equal to m's body.
func newTeacher(m *Model) (*teacher, error) {
	rng := rand.New(rand.NewPCG(0, 0)) // overwritten by the copy
	t := &teacher{}
	var err error
	if m.Transformer != nil {
		if t.tr, err = encoder.NewTransformer(m.Transformer.Config, rng); err != nil {
			return nil, err
		}
		t.params = t.tr.Params()
	} else {
		if t.enc, err = encoder.New(m.Encoder.Config, rng); err != nil {
			return nil, err
		}
		t.params = t.enc.Params()
	}
	student := m.bodyParams()
	if len(student) != len(t.params) {
		return nil, fmt.Errorf("pretrain: teacher has %d tensors, the student %d", len(t.params), len(student))
	}
	for i, p := range t.params {
		copy(p.Data, student[i].Data)
	}
	nn.DropGrads(t.params)
	return t, nil
}

// emaDecay returns tau for the update that follows done updates: EMADecay
// at the first (done = 0), rising linearly to EMAEndDecay at done =
// EMAAnnealEndStep, and EMAEndDecay from then on (data2vec's
// get_annealed_rate over ema_anneal_end_step).
func emaDecay(pc Config, done int) float64 {
	if done >= pc.EMAAnnealEndStep {
		return pc.EMAEndDecay
	}
	return pc.EMADecay + (pc.EMAEndDecay-pc.EMADecay)*float64(done)/float64(pc.EMAAnnealEndStep)
}

// update moves the teacher towards the student's body:
// w = tau*w + (1-tau)*s for every weight, in float64 and rounded once.
func (t *teacher) update(student []*nn.Param, tau float64) {
	for i, p := range t.params {
		s := student[i].Data[:len(p.Data)]
		for j, w := range p.Data {
			p.Data[j] = float32(tau*float64(w) + (1-tau)*float64(s[j]))
		}
	}
}

// tensors returns the teacher's weights as checkpoint tensors.
func (t *teacher) tensors() map[string][]float32 {
	out := make(map[string][]float32, len(t.params))
	for _, p := range t.params {
		out[tensorTeacher+p.Name] = p.Data
	}
	return out
}

// load copies the teacher's weights from checkpoint tensors.
func (t *teacher) load(get func(name string) ([]float32, bool)) error {
	var errs []error
	for _, p := range t.params {
		v, ok := get(tensorTeacher + p.Name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("no %s%s tensor", tensorTeacher, p.Name))
		case len(v) != len(p.Data):
			errs = append(errs, fmt.Errorf("%s%s has %d values, want %d", tensorTeacher, p.Name, len(v), len(p.Data)))
		default:
			copy(p.Data, v)
		}
	}
	return errors.Join(errs...)
}

// topLayers adds the teacher to g on x and returns the outputs of its top
// K layers (K = min(AverageTopK, layers)), [B, Dim, T] each: the
// transformer's layer outputs (after each layer's final LayerNorm in the
// post-LN base layout, the residual stream in the pre-LN one), the
// convolutional network's block outputs (the residual stream, before the
// final norm).
func (t *teacher) topLayers(g *nn.Graph, x *nn.Node, k int) []*nn.Node {
	var layers []*nn.Node
	if t.tr != nil {
		_, proj := t.tr.Embed(g, t.tr.Features(g, x))
		t.tr.Context(g, proj, nil, encoder.ContextOptions{Layers: &layers})
	} else {
		_, proj := t.enc.Embed(g, t.enc.Features(g, x))
		t.enc.ContextLayers(g, proj, nil, &layers)
	}
	return layers[len(layers)-min(k, len(layers)):]
}

// instanceNormEps is the epsilon of the targets' instance norm (data2vec's
// F.instance_norm default).
const instanceNormEps = 1e-5

// averageTargets writes into dst [B, D, T] the mean of the layers (each
// [B, D, T]), each normalised per utterance and channel over the T frames
// (subtract the mean over time, divide by sqrt(variance over time + 1e-5),
// no affine): data2vec's instance_norm_target_layer and average of the top
// K layers.
func averageTargets(dst []float32, layers [][]float32, B, D, T int) {
	acc := make([]float64, T)
	for r := range B * D {
		clear(acc)
		for _, l := range layers {
			x := l[r*T : (r+1)*T]
			var s, ss float64
			for _, v := range x {
				s += float64(v)
			}
			mean := s / float64(T)
			for _, v := range x {
				d := float64(v) - mean
				ss += d * d
			}
			inv := 1 / math.Sqrt(ss/float64(T)+instanceNormEps)
			for t, v := range x {
				acc[t] += (float64(v) - mean) * inv
			}
		}
		y := dst[r*T : (r+1)*T]
		for t, v := range acc {
			y[t] = float32(v / float64(len(layers)))
		}
	}
}

// targetVariance returns the mean over the D channels of the variance
// across frames, from the sums TargetSums holds (per channel sum, then
// per channel sum of squares, then the count of frames); NaN without
// frames.
func targetVariance(sums []float64) float64 {
	D := (len(sums) - 1) / 2
	n := sums[2*D]
	if D == 0 || n == 0 {
		return math.NaN()
	}
	var v float64
	for d := range D {
		mean := sums[d] / n
		v += max(sums[D+d]/n-mean*mean, 0)
	}
	return v / float64(D)
}

// regression is a loss graph's part for the teacher targets: the
// teacher's program on the B utterances, and the student's inputs.
type regression struct {
	clones  int
	tprog   *nn.Program // the teacher: [B, ...] input -> its top K layers
	tin     *nn.Node
	tlayers []*nn.Node
	targets *nn.Node  // [B*clones, Dim, T]
	weights *nn.Node  // [B*clones, 1, T]: mask / (masked frames of the batch x Dim)
	y       []float32 // the B utterances' targets
	student []float32 // the student rows' targets (y with each utterance repeated clones times)
	sums    []float64 // of the last prepare (see targetVariance)
	masked  float64   // masked frames of this graph's rows
}

// buildRegressionGraph is buildGraph for the teacher targets:
//
//	y = mean over the top K layers l of InstanceNorm(l(teacher, x))   [B, Dim, T], no gradient
//	c = Context(Mask(Embed(Features(x)), mask))                        [B*clones, Dim, T]
//	loss = sum over masked frames and channels of
//	       (Head(c) - y)^2 (or smooth-L1) / (masked frames x Dim)
//	       (Head(Decoder(c)) with data2vec 2.0's decoder, decoder.go)
//	     + beta * mean(feats^2)
//
// with each utterance repeated clones times for the student, each copy
// masked differently, and the teacher run once (a separate forward-only
// program). The targets are computed in Go between the two programs.
func (m *Model) buildRegressionGraph(B, L, total int, train bool, seed uint64) (*trainGraph, error) {
	pc := m.Config.Pretrain
	T, D, n := m.Frames(L), m.Dim(), pc.Clones
	if m.teacher == nil {
		return nil, errors.New("pretrain: the teacher targets have no teacher")
	}
	reg := &regression{clones: n}
	tgr := nn.NewGraph()
	reg.tin = tgr.Input("input", m.input.Shape(B, L)...)
	reg.tlayers = m.teacher.topLayers(tgr, reg.tin, pc.AverageTopK)
	var err error
	if reg.tprog, err = tgr.Compile(nil, reg.tlayers...); err != nil {
		return nil, fmt.Errorf("pretrain: building the %dx%d teacher graph: %w", B, L, err)
	}
	S := B * n
	g := nn.NewGraph()
	g.Training = train
	g.Seed = seed
	tg := &trainGraph{B: B, L: L, T: T, train: train, reg: reg}
	tg.x = g.Input("input", m.input.Shape(S, L)...)
	tg.mask = g.Input("mask", S, 1, T)
	reg.targets = g.Input("targets", S, D, T)
	reg.weights = g.Input("weights", S, 1, T)
	feats, _, proj := m.embed(g, tg.x)
	c := m.context(g, m.mask(g, proj, tg.mask))
	if m.decoder != nil {
		c = m.decoder.forward(g, c)
	}
	diff := g.Sub(m.Head.Forward(g, c), reg.targets)
	var per *nn.Node
	if pc.LossBeta > 0 {
		per = g.SmoothL1(diff, pc.LossBeta)
	} else {
		per = g.Square(diff)
	}
	loss := g.Sum(g.MulFrames(per, reg.weights))
	outs := []*nn.Node{loss}
	pen, loss, outs := m.featurePenalty(g, feats, loss, outs, B, total)
	tg.parts = [3]*nn.Node{outs[0], nil, pen}
	tg.loss = loss
	if train {
		tg.prog, err = g.Compile(loss, outs...)
	} else {
		tg.prog, err = g.Compile(nil, append([]*nn.Node{loss}, outs...)...)
	}
	if err != nil {
		reg.tprog.Close()
		return nil, fmt.Errorf("pretrain: building the %dx%d graph: %w", B, L, err)
	}
	reg.y = make([]float32, B*D*T)
	return tg, nil
}

// prepareRegression is preparePart for the teacher targets: it runs the
// teacher on the rows, computes their targets, and draws the span masks
// of the whole batch's total*clones student rows, keeping these rows'.
func (m *Model) prepareRegression(tg *trainGraph, audio []float32, rng *rand.Rand, first, total int) error {
	pc, reg := m.Config.Pretrain, tg.reg
	B, T, D, n := tg.B, tg.T, m.Dim(), reg.clones
	rows := make([][]float32, B)
	for b := range B {
		rows[b] = audio[b*tg.L : (b+1)*tg.L]
	}
	in := m.input.Batch(rows, tg.L)
	reg.tprog.Set(reg.tin, in)
	if err := reg.tprog.Run(); err != nil {
		return fmt.Errorf("pretrain: the teacher: %w", err)
	}
	layers := make([][]float32, len(reg.tlayers))
	for i, l := range reg.tlayers {
		layers[i] = reg.tprog.Value(l)
	}
	averageTargets(reg.y, layers, B, D, T)

	mask := make([]float32, total*n*T)
	var all float64
	for r := range total * n {
		row := mask[r*T : (r+1)*T]
		encoder.SpanMask(rng, row, pc.MaskProb, pc.MaskLength)
		for _, v := range row {
			all += float64(v)
		}
	}
	mask = mask[first*n*T : (first+B)*n*T]
	if n == 1 {
		tg.prog.Set(tg.x, in)
		reg.student = reg.y
	} else {
		srows := make([][]float32, 0, B*n)
		y := make([]float32, 0, B*n*D*T)
		for b := range B {
			for range n {
				srows = append(srows, rows[b])
				y = append(y, reg.y[b*D*T:(b+1)*D*T]...)
			}
		}
		tg.prog.Set(tg.x, m.input.Batch(srows, tg.L))
		reg.student = y
	}
	tg.prog.Set(reg.targets, reg.student)
	tg.prog.Set(tg.mask, mask)
	w := make([]float32, len(mask))
	scale := 1 / (max(all, 1) * float64(D))
	reg.sums = make([]float64, 2*D+1)
	reg.masked = 0
	for r, v := range mask {
		if v == 0 {
			continue
		}
		w[r] = float32(scale)
		reg.masked++
		b, t := r/T/n, r%T
		for d := range D {
			x := float64(reg.y[(b*D+d)*T+t])
			reg.sums[d] += x
			reg.sums[D+d] += x * x
		}
	}
	reg.sums[2*D] = reg.masked
	tg.prog.Set(reg.weights, w)
	return nil
}

// runRegression runs a teacher-target graph prepared by prepareRegression.
func (m *Model) runRegression(tg *trainGraph) (stepResult, error) {
	if err := tg.prog.Run(); err != nil {
		return stepResult{}, fmt.Errorf("pretrain: %w", err)
	}
	r := stepResult{
		Loss:         float64(tg.prog.Value(tg.loss)[0]),
		Regression:   float64(tg.prog.Value(tg.parts[0])[0]),
		MaskedFrames: tg.reg.masked,
		TargetSums:   tg.reg.sums,
	}
	if tg.parts[2] != nil {
		r.FeaturePenalty = float64(tg.prog.Value(tg.parts[2])[0])
	}
	return r, nil
}

// ErrCollapse is the error a run of the teacher targets stops with when
// the collapse guard fires (errors.Is).
var ErrCollapse = errors.New("pretrain: the teacher's targets collapsed")

// watchCollapse is the collapse guard: it records the targets' variance
// of the run's first update, counts the updates in a row whose variance
// is below CollapseRatio times it, and returns an error wrapping
// ErrCollapse at CollapseUpdates of them. saved is the step of the last
// checkpoint written, for the message.
func (t *Trainer) watchCollapse(v float64, saved int) error {
	pc := t.Model.Config.Pretrain
	if pc.CollapseRatio == 0 {
		return nil
	}
	if t.targetVarFirst == 0 {
		if v > 0 {
			t.targetVarFirst = v
		}
		return nil
	}
	limit := pc.CollapseRatio * t.targetVarFirst
	if v >= limit { // NaN (no masked frame) counts as low
		t.lowVarStreak = 0
		return nil
	}
	t.lowVarStreak++
	if t.lowVarStreak < pc.CollapseUpdates {
		return nil
	}
	kept := "no checkpoint was written"
	if saved >= 0 {
		kept = fmt.Sprintf("checkpoint_last and checkpoint_best hold the last good model (step %d at the latest)", saved)
	}
	return fmt.Errorf("%w at update %d: the variance of the targets across frames was below %.3g (collapse_ratio %g x %.3g at the first update) for %d updates in a row, %.3g at the last; every frame is getting the same representation. Stopping without saving the collapsed model: %s. A lower learning rate, a higher ema_decay or more masking may help",
		ErrCollapse, t.Step, limit, pc.CollapseRatio, t.targetVarFirst, t.lowVarStreak, v, kept)
}

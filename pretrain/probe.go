package pretrain

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/nn"
)

// A representation probe asks how much of the letter being spoken a frozen
// layer of the model holds in linear form: a multinomial logistic
// regression (softmax classifier) is trained on the frames of a small
// labeled set and scored on the frames of another. Run on c of a
// pretrained model and on c of the same config with random weights, it
// tells whether pretraining put the phonetic content where a linear CTC
// head can read it.
//
// Frame targets come from ProbeData.Targets when it is set: the command
// line's --align gives each frame the letter a fine-tuned model's forced
// alignment puts nearest to it, and leaves silence out. Without it there
// is no alignment: each utterance's .ltr symbols (word boundaries "|"
// included) are spread uniformly over its speech frames (FrameTargets),
// and letters that take more or less time than others make many targets
// wrong, so the accuracies are low; both probes face the same targets
// either way, so their difference measures the features.

// FrameTargets returns the letter target of each of T frames for an
// utterance of the label symbols: the nearest symbol in time when the
// symbols are spread uniformly over the frames, target(t) =
// symbols[floor((t+0.5) * len(symbols) / T)]. It returns nil when symbols
// is empty or T < 1.
func FrameTargets(symbols []int, T int) []int {
	n := len(symbols)
	if n == 0 || T < 1 {
		return nil
	}
	y := make([]int, T)
	for t := range y {
		y[t] = symbols[min(int((float64(t)+0.5)*float64(n)/float64(T)), n-1)]
	}
	return y
}

// ProbeSet holds labeled frames: one feature row and one target class per
// frame.
type ProbeSet struct {
	Dim        int
	X          []float32 // frames x Dim, row-major
	Y          []int     // target class of each frame
	Utterances int       // utterances added
}

// Frames returns the number of frames in the set.
func (s *ProbeSet) Frames() int { return len(s.Y) }

// Add appends an utterance's features (frames x dim, row-major, as Extract
// returns them) with targets from its label symbols (FrameTargets). The
// first utterance sets the set's Dim.
func (s *ProbeSet) Add(feats []float32, frames, dim int, symbols []int) error {
	return s.AddSpan(feats, frames, dim, symbols, 0, frames)
}

// AddSpan is Add for the speech frames [lo, hi) only (see SpeechSpan): the
// symbols are spread over those frames, and the frames outside are left
// out of the set.
func (s *ProbeSet) AddSpan(feats []float32, frames, dim int, symbols []int, lo, hi int) error {
	if len(symbols) == 0 {
		return fmt.Errorf("pretrain: probe: empty label")
	}
	if slices.Min(symbols) < 0 {
		return fmt.Errorf("pretrain: probe: negative class %d", slices.Min(symbols))
	}
	if lo < 0 || hi > frames || lo >= hi {
		return fmt.Errorf("pretrain: probe: speech span [%d, %d) outside %d frames", lo, hi, frames)
	}
	y := make([]int, frames)
	for t := range y {
		y[t] = -1
	}
	copy(y[lo:], FrameTargets(symbols, hi-lo))
	return s.AddTargets(feats, frames, dim, y)
}

// AddTargets appends the frames of an utterance's features (frames x dim,
// row-major) whose target in y (one per frame) is not negative.
func (s *ProbeSet) AddTargets(feats []float32, frames, dim int, y []int) error {
	switch {
	case frames < 1 || dim < 1 || len(feats) != frames*dim:
		return fmt.Errorf("pretrain: probe: %d values for %d frames x %d", len(feats), frames, dim)
	case s.Dim != 0 && dim != s.Dim:
		return fmt.Errorf("pretrain: probe: features of dimension %d, the set holds %d", dim, s.Dim)
	case len(y) != frames:
		return fmt.Errorf("pretrain: probe: %d targets for %d frames", len(y), frames)
	}
	s.Dim = dim
	for t, c := range y {
		if c >= 0 {
			s.X = append(s.X, feats[t*dim:(t+1)*dim]...)
			s.Y = append(s.Y, c)
		}
	}
	s.Utterances++
	return nil
}

// SpeechSpan returns the frames [lo, hi) of an utterance (frames of hop
// samples over x) from the first to the last whose energy over a window of
// win samples is within 35 dB of the loudest frame's: the leading and
// trailing silence that synthesised and recorded clips carry, which would
// otherwise shift every uniformly spread target. An all-silent clip gives
// the whole range.
func SpeechSpan(x []float32, frames, hop, win int) (lo, hi int) {
	energy := make([]float64, frames)
	peak := 0.0
	for t := range energy {
		a, b := min(t*hop, len(x)), min(t*hop+win, len(x))
		for _, v := range x[a:b] {
			energy[t] += float64(v) * float64(v)
		}
		peak = max(peak, energy[t])
	}
	if peak == 0 {
		return 0, frames
	}
	floor := peak * math.Pow(10, -35.0/10)
	lo, hi = 0, frames
	for lo < frames-1 && energy[lo] < floor {
		lo++
	}
	for hi > lo+1 && energy[hi-1] < floor {
		hi--
	}
	return lo, hi
}

// ProbeData says which utterances of a labeled manifest LoadProbeSet uses.
type ProbeData struct {
	Layer   string         // LayerZ, LayerC or LayerQ; empty means LayerC
	Vocab   *dataset.Vocab // maps .ltr symbols to classes; nil means dataset.DefaultVocab()
	MaxUtts int            // at most this many utterances, from the top; 0 means all
	// Skip, if not nil, is told of each utterance that cannot be used (an
	// unreadable or too short file, a label with an unknown symbol or no
	// symbol at all); the utterance is left out either way.
	Skip func(path string, err error)
	// Targets, if not nil, labels the frames instead of the uniform spread
	// over the speech span: given an utterance's samples (16 kHz, as read),
	// its frame count and its label symbols, it returns one class per
	// frame, -1 for a frame to leave out (silence). A forced alignment by a
	// fine-tuned model (ctc.Align, ctc.FrameLabels) gives far truer targets.
	Targets func(x []float32, frames int, symbols []int) ([]int, error)
	// Progress, if not nil, is called after each utterance with the number
	// done and the number to do.
	Progress func(done, total int)
}

// LoadProbeSet extracts the chosen layer of every utterance of the
// manifest at manifestPath (up to MaxUtts) and labels its frames from the
// .ltr file beside the manifest. A missing or malformed manifest or label
// file, or a cancelled ctx, is an error; a bad utterance is skipped.
func (m *Model) LoadProbeSet(ctx context.Context, manifestPath string, opt ProbeData) (*ProbeSet, error) {
	if opt.Layer == "" {
		opt.Layer = LayerC
	}
	if opt.Vocab == nil {
		opt.Vocab = dataset.DefaultVocab()
	}
	man, err := dataset.ReadManifest(manifestPath)
	if err != nil {
		return nil, err
	}
	labels, err := dataset.ReadLabels(manifestPath, "ltr")
	if err != nil {
		return nil, err
	}
	n := len(man.Entries)
	if opt.MaxUtts > 0 {
		n = min(n, opt.MaxUtts)
	}
	ltr := dataset.LabelPath(manifestPath, "ltr")
	s := &ProbeSet{}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pretrain: probe: %s: %w", manifestPath, err)
		}
		path := man.FullPath(i)
		if err := m.addUtterance(s, path, labels[i], ltr, i+1, opt); err != nil && opt.Skip != nil {
			opt.Skip(path, err)
		}
		if opt.Progress != nil {
			opt.Progress(i+1, n)
		}
	}
	return s, nil
}

// addUtterance adds the utterance at path with the label on line of the
// label file ltr.
func (m *Model) addUtterance(s *ProbeSet, path, label, ltr string, line int, opt ProbeData) error {
	symbols, err := opt.Vocab.Encode(label)
	if err != nil {
		return fmt.Errorf("pretrain: probe: %s line %d: %w", ltr, line, err)
	}
	if len(symbols) == 0 {
		return fmt.Errorf("pretrain: probe: %s line %d: empty label", ltr, line)
	}
	x, err := audio.ReadFile(path)
	if err != nil {
		return err
	}
	feats, frames, dim, err := m.Extract(x, opt.Layer)
	if err != nil {
		return err
	}
	if opt.Targets != nil {
		y, err := opt.Targets(x, frames, symbols)
		if err != nil {
			return fmt.Errorf("pretrain: probe: %s: %w", path, err)
		}
		return s.AddTargets(feats, frames, dim, y)
	}
	lo, hi := SpeechSpan(x, frames, audio.SampleRate/100, audio.SampleRate/40) // 10 ms frames, 25 ms windows
	return s.AddSpan(feats, frames, dim, symbols, lo, hi)
}

// Fresh returns a model of m's config with freshly initialised weights,
// drawn exactly as NewTrainer(m.Config, seed) draws them: with the seed of
// the pretraining run it is that run's starting point.
func (m *Model) Fresh(seed uint64) (*Model, error) {
	return New(m.Config, rand.New(rand.NewPCG(seed, 0x9a7e)))
}

// LoadModelStep is LoadModel that also returns the number of updates the
// checkpoint had done (its step metadata; -1 when it has none).
func LoadModelStep(path string) (*Model, int, error) {
	c, err := nn.LoadCheckpoint(path)
	if err != nil {
		return nil, 0, err
	}
	m, err := modelFromCheckpoint(c, false)
	if err != nil {
		return nil, 0, err
	}
	step := -1
	if _, ok := c.Meta[nn.MetaStep]; ok {
		if err := c.MetaJSON(nn.MetaStep, &step); err != nil {
			return nil, 0, err
		}
	}
	return m, step, nil
}

// MajorityClass returns the most common target of s (the smallest class
// among ties) and the fraction of s's frames that have it; (-1, 0) for an
// empty set.
func MajorityClass(s *ProbeSet) (class int, frac float64) {
	counts := map[int]int{}
	class = -1
	for _, y := range s.Y {
		counts[y]++
	}
	for c, n := range counts {
		if class < 0 || n > counts[class] || n == counts[class] && c < class {
			class = c
		}
	}
	if class < 0 {
		return -1, 0
	}
	return class, float64(counts[class]) / float64(len(s.Y))
}

// ClassAccuracy returns the fraction of s's frames whose target is class:
// the accuracy of always predicting it.
func ClassAccuracy(s *ProbeSet, class int) float64 {
	if len(s.Y) == 0 {
		return 0
	}
	n := 0
	for _, y := range s.Y {
		if y == class {
			n++
		}
	}
	return float64(n) / float64(len(s.Y))
}

// ProbeResult is what Probe measured.
type ProbeResult struct {
	Accuracy      float64 // fraction of test frames whose target the probe predicts
	TrainAccuracy float64 // the same on the training frames
	Majority      float64 // test accuracy of always predicting MajorityClass
	MajorityClass int     // the most common target of the training frames
	TrainFrames   int
	TestFrames    int
}

// Probe trains a linear probe on train (TrainProbe) and scores it on
// test, next to the majority-class baseline: always predicting the most
// common training target.
func Probe(train, test *ProbeSet, classes int, cfg ProbeConfig, rng *rand.Rand) (ProbeResult, error) {
	if test.Frames() == 0 {
		return ProbeResult{}, fmt.Errorf("pretrain: probe: no test frames")
	}
	if test.Dim != train.Dim {
		return ProbeResult{}, fmt.Errorf("pretrain: probe: test features of dimension %d, training features %d", test.Dim, train.Dim)
	}
	p, err := TrainProbe(train, classes, cfg, rng)
	if err != nil {
		return ProbeResult{}, err
	}
	maj, _ := MajorityClass(train)
	return ProbeResult{
		Accuracy:      p.Accuracy(test),
		TrainAccuracy: p.Accuracy(train),
		Majority:      ClassAccuracy(test, maj),
		MajorityClass: maj,
		TrainFrames:   train.Frames(),
		TestFrames:    test.Frames(),
	}, nil
}

// ProbeConfig holds the settings of TrainProbe. A zero field means its
// default; a negative L2 means none.
type ProbeConfig struct {
	Epochs    int     // passes over the training frames (10)
	BatchSize int     // frames per update (256)
	LR        float64 // Adam's step size, decayed linearly to 0 over the run (0.01)
	L2        float64 // L2 penalty on the weights (1e-4)
}

func (c ProbeConfig) withDefaults() ProbeConfig {
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.LR == 0 {
		c.LR = 0.01
	}
	switch {
	case c.L2 == 0:
		c.L2 = 1e-4
	case c.L2 < 0:
		c.L2 = 0
	}
	return c
}

// LinearProbe is a trained softmax classifier over standardised features:
// class = argmax_k W[k] . ((x - Mean) / Std) + B[k].
type LinearProbe struct {
	Dim, Classes int
	Mean, Std    []float64 // of the training features, per dimension
	W            []float64 // Classes x Dim, row-major
	B            []float64 // Classes
}

// TrainProbe fits a linear probe to the frames of s: features standardised
// by their mean and standard deviation over s, weights from zero, minibatch
// Adam on the mean cross-entropy plus L2/2 |W|^2, the frames shuffled by
// rng each epoch. Targets must lie in [0, classes).
func TrainProbe(s *ProbeSet, classes int, cfg ProbeConfig, rng *rand.Rand) (*LinearProbe, error) {
	cfg = cfg.withDefaults()
	switch {
	case rng == nil:
		return nil, fmt.Errorf("pretrain: probe: nil random generator")
	case s.Frames() == 0 || s.Dim < 1:
		return nil, fmt.Errorf("pretrain: probe: no training frames")
	case classes < 1:
		return nil, fmt.Errorf("pretrain: probe: %d classes", classes)
	case cfg.Epochs < 1 || cfg.BatchSize < 1 || !(cfg.LR > 0) || math.IsInf(cfg.LR, 0) || math.IsNaN(cfg.L2) || math.IsInf(cfg.L2, 0):
		return nil, fmt.Errorf("pretrain: probe: bad settings %+v", cfg)
	}
	for i, y := range s.Y {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("pretrain: probe: frame %d has class %d, want 0..%d", i, y, classes-1)
		}
	}
	D, K, N := s.Dim, classes, s.Frames()
	p := &LinearProbe{Dim: D, Classes: K, Mean: make([]float64, D), Std: make([]float64, D),
		W: make([]float64, K*D), B: make([]float64, K)}
	p.standardiser(s)
	x := make([]float64, N*D) // the standardised features
	for i := range N {
		p.standardise(x[i*D:(i+1)*D], s.X[i*D:(i+1)*D])
	}
	params := [][]float64{p.W, p.B}
	grads := [][]float64{make([]float64, K*D), make([]float64, K)}
	m1 := [][]float64{make([]float64, K*D), make([]float64, K)}
	m2 := [][]float64{make([]float64, K*D), make([]float64, K)}
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	order := make([]int, N)
	for i := range order {
		order[i] = i
	}
	prob := make([]float64, K)
	steps := cfg.Epochs * ((N + cfg.BatchSize - 1) / cfg.BatchSize)
	step := 0
	for range cfg.Epochs {
		rng.Shuffle(N, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for lo := 0; lo < N; lo += cfg.BatchSize {
			batch := order[lo:min(lo+cfg.BatchSize, N)]
			gW, gB := grads[0], grads[1]
			for k := range gW {
				gW[k] = cfg.L2 * p.W[k]
			}
			clear(gB)
			inv := 1 / float64(len(batch))
			for _, i := range batch {
				xi := x[i*D : (i+1)*D]
				p.softmax(prob, xi)
				prob[s.Y[i]]--
				for k, g := range prob {
					g *= inv
					gB[k] += g
					row := gW[k*D : (k+1)*D]
					for d, v := range xi {
						row[d] += g * v
					}
				}
			}
			step++
			lr := cfg.LR * (1 - float64(step-1)/float64(steps))
			c1, c2 := 1-math.Pow(beta1, float64(step)), 1-math.Pow(beta2, float64(step))
			for j, w := range params {
				for k, g := range grads[j] {
					m1[j][k] = beta1*m1[j][k] + (1-beta1)*g
					m2[j][k] = beta2*m2[j][k] + (1-beta2)*g*g
					w[k] -= lr * (m1[j][k] / c1) / (math.Sqrt(m2[j][k]/c2) + eps)
				}
			}
		}
	}
	return p, nil
}

// standardiser sets Mean and Std from the frames of s; a constant
// dimension gets Std 1.
func (p *LinearProbe) standardiser(s *ProbeSet) {
	D, N := p.Dim, s.Frames()
	for i := range N {
		for d, v := range s.X[i*D : (i+1)*D] {
			p.Mean[d] += float64(v)
		}
	}
	for d := range p.Mean {
		p.Mean[d] /= float64(N)
	}
	for i := range N {
		for d, v := range s.X[i*D : (i+1)*D] {
			e := float64(v) - p.Mean[d]
			p.Std[d] += e * e
		}
	}
	for d, v := range p.Std {
		p.Std[d] = math.Sqrt(v / float64(N))
		if !(p.Std[d] > 1e-12) {
			p.Std[d] = 1
		}
	}
}

func (p *LinearProbe) standardise(dst []float64, x []float32) {
	for d, v := range x {
		dst[d] = (float64(v) - p.Mean[d]) / p.Std[d]
	}
}

// softmax writes the class probabilities of the standardised features x.
func (p *LinearProbe) softmax(dst, x []float64) {
	D := p.Dim
	hi := math.Inf(-1)
	for k := range dst {
		a := p.B[k]
		for d, w := range p.W[k*D : (k+1)*D] {
			a += w * x[d]
		}
		dst[k] = a
		hi = max(hi, a)
	}
	var sum float64
	for k, a := range dst {
		dst[k] = math.Exp(a - hi)
		sum += dst[k]
	}
	for k := range dst {
		dst[k] /= sum
	}
}

// Accuracy returns the fraction of s's frames whose target is the probe's
// most probable class (0 for an empty set). s.Dim must be p.Dim.
func (p *LinearProbe) Accuracy(s *ProbeSet) float64 {
	if s.Frames() == 0 {
		return 0
	}
	D := p.Dim
	x := make([]float64, D)
	prob := make([]float64, p.Classes)
	right := 0
	for i, y := range s.Y {
		p.standardise(x, s.X[i*D:(i+1)*D])
		p.softmax(prob, x)
		best := 0
		for k, v := range prob {
			if v > prob[best] {
				best = k
			}
		}
		if best == y {
			right++
		}
	}
	return float64(right) / float64(s.Frames())
}

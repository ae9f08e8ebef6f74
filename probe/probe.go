// Package probe measures representations: how much of the letter being
// spoken a frozen layer of a pretrained model holds in linear form. A
// multinomial logistic regression (softmax classifier) is trained on the frames of a small
// labeled set and scored on the frames of another. Run on c of a
// pretrained model and on c of the same config with random weights, it
// tells whether pretraining put the phonetic content where a linear CTC
// head can read it.
//
// Frame targets come from Data.Targets when it is set: the command
// line's --align gives each frame the letter a fine-tuned model's forced
// alignment puts nearest to it, and leaves silence out. Without it there
// is no alignment: each utterance's .ltr symbols (word boundaries "|"
// included) are spread uniformly over its speech frames (FrameTargets),
// and letters that take more or less time than others make many targets
// wrong, so the accuracies are low; both probes face the same targets
// either way, so their difference measures the features.
package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
)

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

// Set holds labeled frames: one feature row and one target class per
// frame.
type Set struct {
	Dim        int
	X          []float32 // frames x Dim, row-major
	Y          []int     // target class of each frame
	Utterances int       // utterances added
}

// Frames returns the number of frames in the set.
func (s *Set) Frames() int { return len(s.Y) }

// Add appends an utterance's features (frames x dim, row-major, as Extract
// returns them) with targets from its label symbols (FrameTargets). The
// first utterance sets the set's Dim.
func (s *Set) Add(feats []float32, frames, dim int, symbols []int) error {
	return s.AddSpan(feats, frames, dim, symbols, 0, frames)
}

// AddSpan is Add for the speech frames [lo, hi) only (see SpeechSpan): the
// symbols are spread over those frames, and the frames outside are left
// out of the set.
func (s *Set) AddSpan(feats []float32, frames, dim int, symbols []int, lo, hi int) error {
	if len(symbols) == 0 {
		return fmt.Errorf("probe: empty label")
	}
	if slices.Min(symbols) < 0 {
		return fmt.Errorf("probe: negative class %d", slices.Min(symbols))
	}
	if lo < 0 || hi > frames || lo >= hi {
		return fmt.Errorf("probe: speech span [%d, %d) outside %d frames", lo, hi, frames)
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
func (s *Set) AddTargets(feats []float32, frames, dim int, y []int) error {
	switch {
	case frames < 1 || dim < 1 || len(feats) != frames*dim:
		return fmt.Errorf("probe: %d values for %d frames x %d", len(feats), frames, dim)
	case s.Dim != 0 && dim != s.Dim:
		return fmt.Errorf("probe: features of dimension %d, the set holds %d", dim, s.Dim)
	case len(y) != frames:
		return fmt.Errorf("probe: %d targets for %d frames", len(y), frames)
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

// Data says which utterances of a labeled manifest Load uses.
type Data struct {
	Layer   string         // a layer the model's Extract gives; empty means "c"
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

// Model is what a probe reads: a pretrain.Model or a published.Model.
type Model interface {
	// Extract returns a layer of one utterance as frames x dim.
	Extract(samples []float32, layer string) (data []float32, frames, dim int, err error)
	// Hop is the number of 16 kHz samples between two frames.
	Hop() int
}

// Load extracts the chosen layer of every utterance of the
// manifest at manifestPath (up to MaxUtts) and labels its frames from the
// .ltr file beside the manifest. A missing or malformed manifest or label
// file, or a cancelled ctx, is an error; a bad utterance is skipped.
func Load(ctx context.Context, m Model, manifestPath string, opt Data) (*Set, error) {
	if opt.Layer == "" {
		opt.Layer = "c"
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
	s := &Set{}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("probe: %s: %w", manifestPath, err)
		}
		path := man.FullPath(i)
		if err := addUtterance(m, s, path, labels[i], ltr, i+1, opt); err != nil && opt.Skip != nil {
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
func addUtterance(m Model, s *Set, path, label, ltr string, line int, opt Data) error {
	symbols, err := opt.Vocab.Encode(label)
	if err != nil {
		return fmt.Errorf("probe: %s line %d: %w", ltr, line, err)
	}
	if len(symbols) == 0 {
		return fmt.Errorf("probe: %s line %d: empty label", ltr, line)
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
			return fmt.Errorf("probe: %s: %w", path, err)
		}
		return s.AddTargets(feats, frames, dim, y)
	}
	lo, hi := SpeechSpan(x, frames, m.Hop(), audio.SampleRate/40) // the model's frames, 25 ms windows
	return s.AddSpan(feats, frames, dim, symbols, lo, hi)
}

// MajorityClass returns the most common target of s (the smallest class
// among ties) and the fraction of s's frames that have it; (-1, 0) for an
// empty set.
func MajorityClass(s *Set) (class int, frac float64) {
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
func ClassAccuracy(s *Set, class int) float64 {
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

// Result is what Probe measured.
type Result struct {
	Accuracy      float64 // fraction of test frames whose target the probe predicts
	TrainAccuracy float64 // the same on the training frames
	Majority      float64 // test accuracy of always predicting MajorityClass
	MajorityClass int     // the most common target of the training frames
	TrainFrames   int
	TestFrames    int
}

// Probe trains a linear probe on train (Train) and scores it on
// test, next to the majority-class baseline: always predicting the most
// common training target.
func Probe(train, test *Set, classes int, cfg Config, rng *rand.Rand) (Result, error) {
	if test.Frames() == 0 {
		return Result{}, fmt.Errorf("probe: no test frames")
	}
	if test.Dim != train.Dim {
		return Result{}, fmt.Errorf("probe: test features of dimension %d, training features %d", test.Dim, train.Dim)
	}
	p, err := Train(train, classes, cfg, rng)
	if err != nil {
		return Result{}, err
	}
	maj, _ := MajorityClass(train)
	return Result{
		Accuracy:      p.Accuracy(test),
		TrainAccuracy: p.Accuracy(train),
		Majority:      ClassAccuracy(test, maj),
		MajorityClass: maj,
		TrainFrames:   train.Frames(),
		TestFrames:    test.Frames(),
	}, nil
}

// Config holds the settings of Train.
type Config struct {
	Epochs    int     // passes over the training frames
	BatchSize int     // frames per update
	LR        float64 // Adam's step size, decayed linearly to 0 over the run
	L2        float64 // L2 penalty on the weights; 0 for none
}

// DefaultConfig returns 10 epochs of 256-frame batches at LR 0.01 with an
// L2 penalty of 1e-4.
func DefaultConfig() Config { return Config{Epochs: 10, BatchSize: 256, LR: 0.01, L2: 1e-4} }

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Epochs < 1 || c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("probe: %d epochs of %d-frame batches: want at least 1 of 1", c.Epochs, c.BatchSize))
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		errs = append(errs, fmt.Errorf("probe: learning rate %g: want a positive number", c.LR))
	}
	if !(c.L2 >= 0) || math.IsInf(c.L2, 0) {
		errs = append(errs, fmt.Errorf("probe: L2 %g: want 0 (none) or more", c.L2))
	}
	return errors.Join(errs...)
}

// Linear is a trained softmax classifier over standardised features:
// class = argmax_k W[k] . ((x - Mean) / Std) + B[k].
type Linear struct {
	Dim, Classes int
	Mean, Std    []float64 // of the training features, per dimension
	W            []float64 // Classes x Dim, row-major
	B            []float64 // Classes
}

// Train fits a linear probe to the frames of s: features standardised
// by their mean and standard deviation over s, weights from zero, minibatch
// Adam on the mean cross-entropy plus L2/2 |W|^2, the frames shuffled by
// rng each epoch. Targets must lie in [0, classes).
func Train(s *Set, classes int, cfg Config, rng *rand.Rand) (*Linear, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case rng == nil:
		return nil, fmt.Errorf("probe: nil random generator")
	case s.Frames() == 0 || s.Dim < 1:
		return nil, fmt.Errorf("probe: no training frames")
	case classes < 1:
		return nil, fmt.Errorf("probe: %d classes", classes)
	case cfg.Epochs < 1 || cfg.BatchSize < 1 || !(cfg.LR > 0) || math.IsInf(cfg.LR, 0) || math.IsNaN(cfg.L2) || math.IsInf(cfg.L2, 0):
		return nil, fmt.Errorf("probe: bad settings %+v", cfg)
	}
	for i, y := range s.Y {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("probe: frame %d has class %d, want 0..%d", i, y, classes-1)
		}
	}
	D, K, N := s.Dim, classes, s.Frames()
	p := &Linear{Dim: D, Classes: K, Mean: make([]float64, D), Std: make([]float64, D),
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
func (p *Linear) standardiser(s *Set) {
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

func (p *Linear) standardise(dst []float64, x []float32) {
	for d, v := range x {
		dst[d] = (float64(v) - p.Mean[d]) / p.Std[d]
	}
}

// softmax writes the class probabilities of the standardised features x.
func (p *Linear) softmax(dst, x []float64) {
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
func (p *Linear) Accuracy(s *Set) float64 {
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

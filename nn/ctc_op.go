package nn

import (
	"fmt"
	"math"
	"slices"
)

// CTCReduction says how the per-utterance losses of a batch combine.
type CTCReduction int

const (
	CTCSum  CTCReduction = iota // the sum over the batch
	CTCMean                     // the sum divided by the batch size
)

// CTCHandle controls a CTC loss node: set the batch's targets before each
// run, read the per-utterance losses after it.
type CTCHandle struct{ k *ctcKernel }

// ctcKernel: logits [B, V, T] -> the reduced loss (a scalar). When the
// graph needs its gradient the forward pass also computes it, and
// ctcGradKernel scales it by the incoming gradient in the same run.
type ctcKernel struct {
	cfg       CTCConfig
	reduction CTCReduction
	B, V, T   int

	lengths  []int
	labels   [][]int
	withGrad bool      // set by backward: forward fills grad
	losses   []float64 // per utterance, from the last run
	grad32   []float32 // [B, V, T], unscaled
	grad64   []float64
	ran      bool
}

// CTC adds the CTC loss (Graves et al. 2006) of logits [B, V, T] (symbol
// scores before any softmax, channels-first: batch, vocabulary, frames):
// the log-softmax over V is part of the op, and the gradient is the fused
// softmax minus posterior. The result is a scalar: the sum of the
// utterances' losses, or their mean over the batch with CTCMean. Before each
// run, set the batch's input lengths and labels with the handle's
// SetTargets; a run without targets gives a NaN loss. Utterances too short
// for their labels give +Inf (0 with cfg.ZeroInfinity) and no gradient;
// the handle's TooShort lists them. A bad shape, blank or reduction is a
// graph error.
func (g *Graph) CTC(logits *Node, cfg CTCConfig, reduction CTCReduction) (*Node, *CTCHandle) {
	k := &ctcKernel{cfg: cfg, reduction: reduction}
	h := &CTCHandle{k}
	if !g.ok(logits) {
		return &Node{g: g}, h
	}
	shape := logits.Shape()
	switch {
	case len(shape) != 3:
		return g.failf("ctc: logits of shape %v, want [B, V, T]", shape), h
	case reduction != CTCSum && reduction != CTCMean:
		return g.failf("ctc: unknown reduction %d", reduction), h
	case cfg.Blank < 0 || cfg.Blank >= shape[1]:
		return g.failf("ctc: blank %d outside the vocabulary of %d symbols", cfg.Blank, shape[1]), h
	}
	k.B, k.V, k.T = shape[0], shape[1], shape[2]
	k.losses = make([]float64, k.B)
	return g.apply(k, nil, logits), h
}

// SetTargets sets, for the next runs, each utterance's number of valid
// frames (the rest is padding) and its label sequence (symbol indices, no
// blanks). It checks them against the node's shape and returns every
// problem at once, keeping the previous targets.
func (h *CTCHandle) SetTargets(lengths []int, labels [][]int) error {
	k := h.k
	if k.losses == nil {
		return fmt.Errorf("nn: ctc: the CTC node was not built (see the graph's error)")
	}
	if err := checkCTCBatch(k.cfg.Blank, k.B, k.V, k.T, lengths, labels); err != nil {
		return err
	}
	k.lengths = append(k.lengths[:0], lengths...)
	k.labels = k.labels[:0]
	for _, l := range labels {
		k.labels = append(k.labels, slices.Clone(l))
	}
	return nil
}

// Losses returns the per-utterance losses of the last run (+Inf for an
// utterance too short for its labels, or 0 with ZeroInfinity), or nil
// before the first run.
func (h *CTCHandle) Losses() []float64 {
	if !h.k.ran {
		return nil
	}
	return slices.Clone(h.k.losses)
}

// TooShort returns the indices of the utterances of the current targets
// that have fewer frames than their labels need.
func (h *CTCHandle) TooShort() []int {
	var out []int
	for b, l := range h.k.labels {
		if h.k.lengths[b] < CTCMinFrames(l) {
			out = append(out, b)
		}
	}
	return out
}

func (k *ctcKernel) name() string {
	return fmt.Sprintf("ctc(blank=%d, zeroInfinity=%v, reduction=%d)", k.cfg.Blank, k.cfg.ZeroInfinity, k.reduction)
}

func (k *ctcKernel) scale() float64 {
	if k.reduction == CTCMean && k.B > 0 {
		return 1 / float64(k.B)
	}
	return 1
}

func (k *ctcKernel) forward(out buf, in []buf) {
	x := in[0]
	k.ran = true
	total := math.NaN()
	if len(k.lengths) == k.B { // SetTargets has checked the targets
		var err error
		if x.f32 != nil {
			var g []float32
			if k.withGrad {
				k.grad32 = ctcGrow(k.grad32, len(x.f32))
				g = k.grad32
			}
			err = CTCBatchLoss(k.cfg, k.losses, g, x.f32, k.B, k.V, k.T, k.lengths, k.labels)
		} else {
			var g []float64
			if k.withGrad {
				k.grad64 = ctcGrow(k.grad64, len(x.f64))
				g = k.grad64
			}
			err = CTCBatchLoss(k.cfg, k.losses, g, x.f64, k.B, k.V, k.T, k.lengths, k.labels)
		}
		if err == nil {
			total = 0
			for _, l := range k.losses {
				total += l
			}
			total *= k.scale()
		}
	} else {
		for b := range k.losses {
			k.losses[b] = math.NaN()
		}
		clear(k.grad32)
		clear(k.grad64)
	}
	if out.f32 != nil {
		out.f32[0] = float32(total)
	} else {
		out.f64[0] = total
	}
}

func (k *ctcKernel) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	if !need[0] {
		return []*Node{nil}
	}
	k.withGrad = true
	// out is an input only to order the gradient after the forward pass.
	return []*Node{g.apply(&ctcGradKernel{k}, in[0].Shape(), out, gout)}
}

// ctcGradKernel: (loss, dLoss) -> dLogits, from the gradient that the
// forward pass of the same run stored.
type ctcGradKernel struct{ fwd *ctcKernel }

func (k *ctcGradKernel) name() string { return "ctc-grad" }

func (k *ctcGradKernel) forward(out buf, in []buf) {
	var up float64
	if in[1].f32 != nil {
		up = float64(in[1].f32[0])
	} else {
		up = in[1].f64[0]
	}
	s := up * k.fwd.scale()
	if out.f32 != nil {
		if len(k.fwd.grad32) != len(out.f32) {
			clear(out.f32) // no forward pass with targets yet
			return
		}
		for i, x := range k.fwd.grad32 {
			out.f32[i] = float32(s * float64(x))
		}
		return
	}
	if len(k.fwd.grad64) != len(out.f64) {
		clear(out.f64)
		return
	}
	for i, x := range k.fwd.grad64 {
		out.f64[i] = s * x
	}
}

func (k *ctcGradKernel) backward(*Graph, []*Node, *Node, *Node, []bool) []*Node { return nil }

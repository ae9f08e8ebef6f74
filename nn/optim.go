package nn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrNonFiniteGrad is returned by Adam.Step when a gradient holds a NaN or an
// infinity: no parameter is changed and the gradients are zeroed, so one bad
// batch never corrupts the weights.
var ErrNonFiniteGrad = errors.New("nn: non-finite gradient, update skipped")

// AdamConfig holds Adam's hyperparameters. Zero values mean the defaults of
// torch.optim.Adam: Beta1 0.9, Beta2 0.999, Eps 1e-8, no weight decay.
type AdamConfig struct {
	Beta1, Beta2 float64
	Eps          float64
	// WeightDecay is the decay rate. With Decoupled false it is an L2 term
	// added to the gradient (torch.optim.Adam); with Decoupled true each
	// update first multiplies the parameter by 1 - lr*WeightDecay
	// (torch.optim.AdamW, Loshchilov and Hutter).
	WeightDecay float64
	Decoupled   bool
	// NoDecay, when set, exempts the parameters whose name it accepts from
	// weight decay; NoDecayBiasNorm is the usual choice. Nil decays all.
	NoDecay func(name string) bool
}

// NoDecayBiasNorm accepts biases and the parameters of normalisation layers:
// names whose last element is "bias", or that contain "norm" or "ln".
func NoDecayBiasNorm(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "bias" || last == "b" {
		return true
	}
	for _, part := range strings.Split(strings.ToLower(name), ".") {
		if strings.Contains(part, "norm") || part == "ln" || strings.HasPrefix(part, "ln_") {
			return true
		}
	}
	return false
}

func (c AdamConfig) withDefaults() AdamConfig {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// Validate reports every out-of-range hyperparameter.
func (c AdamConfig) Validate() error {
	var errs []error
	if c.Beta1 < 0 || c.Beta1 >= 1 || math.IsNaN(c.Beta1) {
		errs = append(errs, fmt.Errorf("nn: adam: beta1 %g not in [0, 1)", c.Beta1))
	}
	if c.Beta2 < 0 || c.Beta2 >= 1 || math.IsNaN(c.Beta2) {
		errs = append(errs, fmt.Errorf("nn: adam: beta2 %g not in [0, 1)", c.Beta2))
	}
	if c.Eps < 0 || math.IsNaN(c.Eps) {
		errs = append(errs, fmt.Errorf("nn: adam: eps %g is negative", c.Eps))
	}
	if c.WeightDecay < 0 || math.IsNaN(c.WeightDecay) || math.IsInf(c.WeightDecay, 0) {
		errs = append(errs, fmt.Errorf("nn: adam: weight decay %g is negative or not finite", c.WeightDecay))
	}
	return errors.Join(errs...)
}

// Adam is the Adam / AdamW optimiser over a fixed list of parameters, with
// PyTorch's semantics (bias correction, eps added after the square root,
// per-parameter step counts). Frozen parameters are skipped at each Step, so
// a parameter unfrozen later starts its own bias correction from 1, as in
// PyTorch. Its state can be saved and restored exactly.
type Adam struct {
	cfg    AdamConfig
	params []*Param
	decay  []bool      // weight decay applies to params[i]
	m, v   [][]float32 // first and second moment estimates
	steps  []int64     // updates applied to params[i]
}

// NewAdam returns Adam (L2 weight decay, if any) over params.
func NewAdam(params []*Param, cfg AdamConfig) (*Adam, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(params))
	a := &Adam{cfg: cfg, params: params}
	for _, p := range params {
		if seen[p.Name] {
			return nil, fmt.Errorf("nn: adam: parameter %q listed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Grad != nil && len(p.Grad) != len(p.Data) {
			return nil, fmt.Errorf("nn: adam: parameter %q has %d gradient values for %d values", p.Name, len(p.Grad), len(p.Data))
		}
		p.EnsureGrad()
		a.decay = append(a.decay, cfg.WeightDecay > 0 && (cfg.NoDecay == nil || !cfg.NoDecay(p.Name)))
		a.m = append(a.m, make([]float32, len(p.Data)))
		a.v = append(a.v, make([]float32, len(p.Data)))
		a.steps = append(a.steps, 0)
	}
	return a, nil
}

// NewAdamW returns Adam with decoupled weight decay (torch.optim.AdamW).
func NewAdamW(params []*Param, cfg AdamConfig) (*Adam, error) {
	cfg.Decoupled = true
	return NewAdam(params, cfg)
}

// Config returns the configuration, defaults filled in.
func (a *Adam) Config() AdamConfig { return a.cfg }

// Steps returns the number of Step calls that updated parameters.
func (a *Adam) Steps() int64 {
	var n int64
	for _, s := range a.steps {
		n = max(n, s)
	}
	return n
}

// ZeroGrad zeroes the gradients of all parameters, frozen or not.
func (a *Adam) ZeroGrad() {
	for _, p := range a.params {
		p.ZeroGrad()
	}
}

// Step applies one update with learning rate lr to every parameter that is
// not frozen, then zeroes all gradients. If a gradient is not finite it
// changes nothing, zeroes the gradients and returns ErrNonFiniteGrad; so
// does a negative or non-finite learning rate, with another error.
func (a *Adam) Step(lr float64) error {
	defer a.ZeroGrad()
	if !(lr >= 0) || math.IsInf(lr, 1) {
		return fmt.Errorf("nn: adam: learning rate %g, want a finite value >= 0; update skipped", lr)
	}
	for _, p := range a.params {
		if !p.Frozen && !finite32(p.Grad) {
			return fmt.Errorf("%w (parameter %s)", ErrNonFiniteGrad, p.Name)
		}
	}
	type chunk struct{ i, lo, hi int }
	const chunkSize = 1 << 16
	var work []chunk
	for i, p := range a.params {
		if p.Frozen {
			continue
		}
		a.steps[i]++
		for lo := 0; lo < len(p.Data); lo += chunkSize {
			work = append(work, chunk{i, lo, min(lo+chunkSize, len(p.Data))})
		}
	}
	runParallel(len(work), func(k int) {
		c := work[k]
		a.update(c.i, c.lo, c.hi, lr)
	})
	return nil
}

// update applies Adam to elements [lo, hi) of parameter i.
func (a *Adam) update(i, lo, hi int, lr float64) {
	p, m, v := a.params[i], a.m[i][lo:hi], a.v[i][lo:hi]
	data, grad := p.Data[lo:hi], p.Grad[lo:hi]
	b1, b2, eps := a.cfg.Beta1, a.cfg.Beta2, a.cfg.Eps
	t := float64(a.steps[i])
	if p.LRScale != 0 {
		lr *= p.LRScale
	}
	stepSize := lr / (1 - math.Pow(b1, t))
	bc2Sqrt := math.Sqrt(1 - math.Pow(b2, t))
	wd, coupled, decoupled := 0.0, false, false
	if a.decay[i] {
		wd = a.cfg.WeightDecay
		coupled, decoupled = !a.cfg.Decoupled, a.cfg.Decoupled
	}
	for j := range data {
		x, g := float64(data[j]), float64(grad[j])
		if coupled {
			g += wd * x
		}
		if decoupled {
			x *= 1 - lr*wd
		}
		mj := b1*float64(m[j]) + (1-b1)*g
		vj := b2*float64(v[j]) + (1-b2)*g*g
		m[j], v[j] = float32(mj), float32(vj)
		x -= stepSize * mj / (math.Sqrt(vj)/bc2Sqrt + eps)
		data[j] = float32(x)
	}
}

// GradNorm returns the Euclidean norm of the gradients of the parameters that
// are not frozen, taken together, computed in float64.
func GradNorm(params []*Param) float64 {
	var s float64
	for _, p := range params {
		if p.Frozen {
			continue
		}
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients of the parameters that are not frozen so
// that their global norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_
// does (scale maxNorm/(norm+1e-6) when below 1), and returns the norm before
// clipping. A non-finite norm leaves the gradients unchanged (Adam.Step then
// skips the update); maxNorm <= 0 only measures.
func ClipGradNorm(params []*Param, maxNorm float64) float64 {
	norm := GradNorm(params)
	if maxNorm <= 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef >= 1 {
		return norm
	}
	c := float32(coef)
	for _, p := range params {
		if p.Frozen {
			continue
		}
		for j := range p.Grad {
			p.Grad[j] *= c
		}
	}
	return norm
}

func finite32(xs []float32) bool {
	for _, x := range xs {
		if x-x != 0 { // NaN or ±Inf
			return false
		}
	}
	return true
}

// runParallel calls f(0..n-1) on up to GOMAXPROCS goroutines.
func runParallel(n int, f func(k int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for k := range n {
			f(k)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				f(k)
			}
		})
	}
	wg.Wait()
}

package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Padding is how a Conv1d pads the time axis.
type Padding int

const (
	// PadNone adds no padding ("valid"), apart from PadLeft and PadRight.
	PadNone Padding = iota
	// PadCausal pads Dilation*(Kernel-1) frames on the left: output frame
	// t sees input frames up to t only (with stride 1).
	PadCausal
	// PadCentred pads Dilation*(Kernel-1) frames split over both sides,
	// the odd one on the right (PyTorch's padding="same"): with stride 1
	// the output has the input's length and frame t is centred on t.
	PadCentred
)

// Conv1dConfig configures a Conv1d layer. In, Out and Kernel are required;
// zero Stride and Dilation mean 1.
type Conv1dConfig struct {
	In, Out  int // channels
	Kernel   int // frames
	Stride   int
	Dilation int
	Padding  Padding
	// PadLeft and PadRight add explicit padding to the mode's.
	PadLeft, PadRight int
	NoBias            bool
	// Groups convolves this many groups of channels apart (PyTorch's
	// groups; In and Out must be multiples of it): the weight is then
	// [Out, In/Groups, Kernel]. 0 means 1.
	Groups int
}

// Validate returns every problem of the configuration.
func (c Conv1dConfig) Validate() error {
	var errs []error
	if c.In <= 0 || c.Out <= 0 {
		errs = append(errs, fmt.Errorf("channels %d -> %d: want positive", c.In, c.Out))
	}
	if c.Kernel <= 0 {
		errs = append(errs, fmt.Errorf("kernel %d: want positive", c.Kernel))
	}
	if c.Stride < 0 || c.Dilation < 0 || c.PadLeft < 0 || c.PadRight < 0 {
		errs = append(errs, fmt.Errorf("negative stride %d, dilation %d or padding %d+%d", c.Stride, c.Dilation, c.PadLeft, c.PadRight))
	}
	if c.Padding < PadNone || c.Padding > PadCentred {
		errs = append(errs, fmt.Errorf("unknown padding mode %d", c.Padding))
	}
	if gr := max(c.Groups, 1); c.Groups < 0 || c.In%gr != 0 || c.Out%gr != 0 {
		errs = append(errs, fmt.Errorf("%d groups for channels %d -> %d: want a divisor of both", c.Groups, c.In, c.Out))
	}
	return errors.Join(errs...)
}

// Conv1d is a 1-D convolution layer: [B, In, T] -> [B, Out, T'].
type Conv1d struct {
	Weight *Param // [Out, In/Groups, Kernel]
	Bias   *Param // [Out], nil with NoBias
	Config Conv1dConfig
	opts   ConvOpts
}

// NewConv1d adds the layer's parameters NAME.weight and NAME.bias to ps,
// initialised as PyTorch does: U(-1/sqrt(fan), 1/sqrt(fan)) with fan =
// In/Groups*Kernel.
func NewConv1d(ps *Params, name string, cfg Conv1dConfig, rng *rand.Rand) (*Conv1d, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nn: conv1d %s: %w", name, err)
	}
	c := &Conv1d{Config: cfg}
	groups := max(cfg.Groups, 1)
	c.opts = ConvOpts{Stride: max(cfg.Stride, 1), Dilation: max(cfg.Dilation, 1), PadLeft: cfg.PadLeft, PadRight: cfg.PadRight, Groups: groups}
	span := c.opts.Dilation * (cfg.Kernel - 1)
	switch cfg.Padding {
	case PadCausal:
		c.opts.PadLeft += span
	case PadCentred:
		c.opts.PadLeft += span / 2
		c.opts.PadRight += span - span/2
	}
	bound := fanInBound(cfg.In / groups * cfg.Kernel)
	c.Weight = ps.New(name+".weight", cfg.Out, cfg.In/groups, cfg.Kernel)
	initUniform(c.Weight, bound, rng)
	if !cfg.NoBias {
		c.Bias = ps.New(name+".bias", cfg.Out)
		initUniform(c.Bias, bound, rng)
	}
	return c, nil
}

// Opts returns the stride, dilation and padding the layer uses.
func (c *Conv1d) Opts() ConvOpts { return c.opts }

// OutLen returns the output length for an input of tin frames (0 when the
// input is too short).
func (c *Conv1d) OutLen(tin int) int {
	span := tin + c.opts.PadLeft + c.opts.PadRight - c.opts.Dilation*(c.Config.Kernel-1) - 1
	if span < 0 {
		return 0
	}
	return span/c.opts.Stride + 1
}

// Forward maps x [B, In, T] to [B, Out, OutLen(T)].
func (c *Conv1d) Forward(g *Graph, x *Node) *Node {
	var b *Node
	if c.Bias != nil {
		b = g.Param(c.Bias)
	}
	return g.Conv1d(x, g.Param(c.Weight), b, c.opts)
}

// Linear is a dense layer applied to every frame: [B, In, T] -> [B, Out, T]
// (a 1x1 convolution over channels).
type Linear struct {
	Weight *Param // [Out, In], as PyTorch's Linear
	Bias   *Param // [Out], nil without bias
	In     int
	Out    int
}

// NewLinear adds NAME.weight and NAME.bias (unless noBias) to ps,
// initialised as PyTorch does: U(-1/sqrt(In), 1/sqrt(In)).
func NewLinear(ps *Params, name string, in, out int, noBias bool, rng *rand.Rand) (*Linear, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("nn: linear %s: sizes %d -> %d: want positive", name, in, out)
	}
	l := &Linear{In: in, Out: out}
	bound := fanInBound(in)
	l.Weight = ps.New(name+".weight", out, in)
	initUniform(l.Weight, bound, rng)
	if !noBias {
		l.Bias = ps.New(name+".bias", out)
		initUniform(l.Bias, bound, rng)
	}
	return l, nil
}

// Forward maps x [B, In, T] to [B, Out, T].
func (l *Linear) Forward(g *Graph, x *Node) *Node {
	var b *Node
	if l.Bias != nil {
		b = g.Param(l.Bias)
	}
	w := g.paramAs(l.Weight, []int{l.Out, l.In, 1}) // a view: no copy per run
	return g.Conv1d(x, w, b, ConvOpts{})
}

// defaultEps is the norms' epsilon when none is given (PyTorch's).
const defaultEps = 1e-5

// GroupNorm is a group normalisation layer over [B, C, T] (see
// Graph.GroupNorm), with per-channel gamma and beta.
type GroupNorm struct {
	Gamma  *Param // NAME.weight [C], initialised to 1
	Beta   *Param // NAME.bias [C], initialised to 0
	Groups int
	Eps    float64 // 0 means 1e-5
}

// NewGroupNorm adds the layer's parameters to ps. groups must divide
// channels: 1 normalises each sample as a whole, channels each channel.
func NewGroupNorm(ps *Params, name string, groups, channels int) (*GroupNorm, error) {
	if channels <= 0 || groups <= 0 || channels%groups != 0 {
		return nil, fmt.Errorf("nn: group norm %s: %d channels in %d groups", name, channels, groups)
	}
	n := &GroupNorm{Groups: groups}
	n.Gamma = ps.New(name+".weight", channels)
	initConst(n.Gamma, 1)
	n.Beta = ps.New(name+".bias", channels)
	return n, nil
}

// Forward normalises x [B, C, T]; the output has x's shape.
func (n *GroupNorm) Forward(g *Graph, x *Node) *Node {
	return g.GroupNorm(x, g.Param(n.Gamma), g.Param(n.Beta), n.Groups, epsOr(n.Eps))
}

// LayerNorm normalises each frame of [B, C, T] over its channels (see
// Graph.LayerNorm), with per-channel gamma and beta.
type LayerNorm struct {
	Gamma *Param  // NAME.weight [C], initialised to 1
	Beta  *Param  // NAME.bias [C], initialised to 0
	Eps   float64 // 0 means 1e-5
}

// NewLayerNorm adds the layer's parameters to ps.
func NewLayerNorm(ps *Params, name string, channels int) (*LayerNorm, error) {
	if channels <= 0 {
		return nil, fmt.Errorf("nn: layer norm %s: %d channels", name, channels)
	}
	n := &LayerNorm{}
	n.Gamma = ps.New(name+".weight", channels)
	initConst(n.Gamma, 1)
	n.Beta = ps.New(name+".bias", channels)
	return n, nil
}

// Forward normalises x [B, C, T]; the output has x's shape.
func (n *LayerNorm) Forward(g *Graph, x *Node) *Node {
	return g.LayerNorm(x, g.Param(n.Gamma), g.Param(n.Beta), epsOr(n.Eps))
}

func epsOr(eps float64) float64 {
	if eps == 0 {
		return defaultEps
	}
	return eps
}

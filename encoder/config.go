package encoder

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// FrameSeconds is the duration of one encoder frame: 160 samples at 16 kHz.
const FrameSeconds = 0.01

// hop is the number of 16 kHz samples per frame.
const hop = 160

// Config is the architecture of a Model. A zero field takes Base()'s
// value, except Dropout (0 is no dropout), so Config{} is the base model.
type Config struct {
	Input            string  `json:"input"`             // "wave" (default) or "logmel"
	LogMelBins       int     `json:"logmel_bins"`       // log-mel channels, logmel input only (80)
	ConvDim          int     `json:"conv_dim"`          // feature-encoder channels
	ConvKernels      []int   `json:"conv_kernels"`      // feature-encoder kernels (10,8,4,4,4)
	ConvStrides      []int   `json:"conv_strides"`      // their strides (5,4,2,2,2): 160 samples = 10 ms per frame
	Dim              int     `json:"dim"`               // context-network channels
	ContextKernel    int     `json:"context_kernel"`    // odd kernel of the context convolutions (3)
	ContextDilations []int   `json:"context_dilations"` // one per context layer
	Dropout          float64 `json:"dropout"`           // in the context blocks, training only
}

// Base returns the paper-sized model: 512 feature channels, 512 context
// channels, 12 context layers of kernel 3 whose dilations give a receptive
// field of 101 frames (1.01 s).
func Base() Config {
	return Config{
		Input:            "wave",
		LogMelBins:       80,
		ConvDim:          512,
		ConvKernels:      []int{10, 8, 4, 4, 4},
		ConvStrides:      []int{5, 4, 2, 2, 2},
		Dim:              512,
		ContextKernel:    3,
		ContextDilations: []int{1, 2, 4, 8, 16, 1, 2, 4, 8, 2, 1, 1},
		Dropout:          0.1,
	}
}

// Tiny returns the CPU-sized model: 128 feature channels, 256 context
// channels, 10 context layers, receptive field 101 frames (1.01 s).
func Tiny() Config {
	c := Base()
	c.ConvDim = 128
	c.Dim = 256
	c.ContextDilations = []int{1, 2, 4, 8, 16, 1, 2, 4, 8, 4}
	return c
}

// WithDefaults returns c with its zero fields taken from Base().
func (c Config) WithDefaults() Config { return c.withDefaults() }

// withDefaults fills the zero fields from Base().
func (c Config) withDefaults() Config {
	b := Base()
	if c.Input == "" {
		c.Input = b.Input
	}
	if c.LogMelBins == 0 {
		c.LogMelBins = b.LogMelBins
	}
	if c.ConvDim == 0 {
		c.ConvDim = b.ConvDim
	}
	if c.ConvKernels == nil {
		c.ConvKernels = b.ConvKernels
	}
	if c.ConvStrides == nil {
		c.ConvStrides = b.ConvStrides
	}
	if c.Dim == 0 {
		c.Dim = b.Dim
	}
	if c.ContextKernel == 0 {
		c.ContextKernel = b.ContextKernel
	}
	if c.ContextDilations == nil {
		c.ContextDilations = b.ContextDilations
	}
	c.ConvKernels = slices.Clone(c.ConvKernels)
	c.ConvStrides = slices.Clone(c.ConvStrides)
	c.ContextDilations = slices.Clone(c.ContextDilations)
	return c
}

// Limits of Validate: far beyond any model this package trains, they
// refuse the absurd values of a damaged or doctored checkpoint's config
// before anything is allocated. The receptive field bounds what the
// dilations, which no tensor's shape shows, can make a graph pad.
const (
	maxDim           = 8192  // conv_dim, dim
	maxLogMelBins    = 512   // the FFT's 512 points (features.Config)
	maxConvLayers    = 16    // conv_kernels
	maxConvKernel    = 1024  // each of conv_kernels
	maxContextLayers = 128   // context_dilations
	maxContextKernel = 1023  // context_kernel
	maxDilation      = 1024  // each of context_dilations
	maxContextFrames = 10001 // ContextFrames, 100 s
)

// Validate returns every problem of the configuration at once: unknown
// values, sizes that are not positive or are beyond generous limits
// (8192 channels, 16 feature convolutions, 128 context layers, a context
// receptive field of 100 s), and a frame rate other than 10 ms.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("encoder: "+format, args...)) }
	size := func(name string, v, limit int) {
		switch {
		case v < 0:
			bad("%s %d: want positive", name, v)
		case v > limit:
			bad("%s %d is beyond the limit %d", name, v, limit)
		}
	}
	if c.Input != "wave" && c.Input != "logmel" {
		bad("unknown input kind %.40q (want \"wave\" or \"logmel\")", c.Input)
	}
	size("logmel_bins", c.LogMelBins, maxLogMelBins)
	size("conv_dim", c.ConvDim, maxDim)
	size("dim", c.Dim, maxDim)
	convOK := true
	switch {
	case len(c.ConvKernels) > maxConvLayers || len(c.ConvStrides) > maxConvLayers:
		bad("%d conv_kernels and %d conv_strides: beyond the limit of %d layers", len(c.ConvKernels), len(c.ConvStrides), maxConvLayers)
		convOK = false
	case len(c.ConvKernels) == 0 || len(c.ConvKernels) != len(c.ConvStrides):
		bad("%d conv_kernels and %d conv_strides: want the same number, at least one", len(c.ConvKernels), len(c.ConvStrides))
	}
	if convOK {
		if slices.ContainsFunc(c.ConvKernels, func(k int) bool { return k < 1 }) {
			bad("conv_kernels %v: want positive", c.ConvKernels)
		} else if k := slices.Max(append([]int{0}, c.ConvKernels...)); k > maxConvKernel {
			bad("conv_kernels %v: %d is beyond the limit %d", c.ConvKernels, k, maxConvKernel)
		}
		if slices.ContainsFunc(c.ConvStrides, func(s int) bool { return s < 1 }) {
			bad("conv_strides %v: want positive", c.ConvStrides)
		} else if p := product(c.ConvStrides); c.Input == "wave" && p != hop {
			bad("conv_strides %v give one frame per %d samples, want %d (10 ms at 16 kHz)", c.ConvStrides, p, hop)
		}
	}
	contextOK := true
	switch {
	case c.ContextKernel < 1 || c.ContextKernel%2 == 0:
		bad("context_kernel %d: want odd and positive (the context network is centred)", c.ContextKernel)
		contextOK = false
	case c.ContextKernel > maxContextKernel:
		bad("context_kernel %d is beyond the limit %d", c.ContextKernel, maxContextKernel)
		contextOK = false
	}
	switch {
	case len(c.ContextDilations) > maxContextLayers:
		bad("%d context_dilations (context layers): beyond the limit %d", len(c.ContextDilations), maxContextLayers)
	case len(c.ContextDilations) == 0 || slices.ContainsFunc(c.ContextDilations, func(d int) bool { return d < 1 }):
		bad("context_dilations %v: want at least one layer, all positive", c.ContextDilations)
	case slices.Max(c.ContextDilations) > maxDilation:
		bad("context_dilations %v: %d is beyond the limit %d", c.ContextDilations, slices.Max(c.ContextDilations), maxDilation)
	case contextOK && c.ContextFrames() > maxContextFrames:
		bad("context_kernel %d and context_dilations %v give a receptive field of %d frames, beyond the limit %d",
			c.ContextKernel, c.ContextDilations, c.ContextFrames(), maxContextFrames)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		bad("dropout %g: want 0 <= dropout < 1", c.Dropout)
	}
	return errors.Join(errs...)
}

// product returns the product of xs, or math.MaxInt when it is larger.
func product(xs []int) int {
	p := 1
	for _, x := range xs {
		if x != 0 && p > math.MaxInt/max(x, 1) {
			return math.MaxInt
		}
		p *= x
	}
	return p
}

// Frames returns the number of output frames for n input samples (wave
// input) or n log-mel frames (logmel input: n itself); 0 when the input is
// too short for one frame.
func (c Config) Frames(n int) int {
	c = c.withDefaults()
	if c.Input == "logmel" {
		return max(n, 0)
	}
	for i, k := range c.ConvKernels {
		if n < k {
			return 0
		}
		n = (n-k)/c.ConvStrides[i] + 1
	}
	return n
}

// MinSamples returns the shortest input giving one frame: the feature
// encoder's receptive field in samples (465 for the default convolutions),
// or 1 for the logmel input.
func (c Config) MinSamples() int {
	c = c.withDefaults()
	if c.Input == "logmel" {
		return 1
	}
	r, jump := 1, 1
	for i, k := range c.ConvKernels {
		r += (k - 1) * jump
		jump *= c.ConvStrides[i]
	}
	return r
}

// ContextFrames returns the receptive field of the context network in
// frames: 1 + (ContextKernel-1) * the sum of the dilations (101 for Tiny
// and Base, about a second on each side together).
func (c Config) ContextFrames() int {
	c = c.withDefaults()
	s := 0
	for _, d := range c.ContextDilations {
		s += d
	}
	return 1 + (c.ContextKernel-1)*s
}

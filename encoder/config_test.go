package encoder

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // substrings of the error; none: valid
	}{
		{"tiny", func(c *Config) {}, nil},
		{"zero value is base", func(c *Config) { *c = Config{} }, nil},
		{"logmel", func(c *Config) { c.Input = "logmel"; c.ConvStrides = []int{1}; c.ConvKernels = []int{1} }, nil},
		{"unknown input", func(c *Config) { c.Input = "mfcc" }, []string{`unknown input kind "mfcc"`}},
		{"negative dims", func(c *Config) { c.ConvDim, c.Dim, c.LogMelBins = -1, -2, -3 },
			[]string{"conv_dim -1", "dim -2", "logmel_bins -3"}},
		{"lengths differ", func(c *Config) { c.ConvKernels = []int{10, 8, 4, 4} }, []string{"4 conv_kernels and 5 conv_strides"}},
		{"empty kernels", func(c *Config) { c.ConvKernels, c.ConvStrides = []int{}, []int{} }, []string{"0 conv_kernels and 0 conv_strides"}},
		{"zero kernel", func(c *Config) { c.ConvKernels = []int{10, 0, 4, 4, 4} }, []string{"conv_kernels [10 0 4 4 4]: want positive"}},
		{"zero stride", func(c *Config) { c.ConvStrides = []int{5, 4, 0, 2, 2} }, []string{"conv_strides [5 4 0 2 2]: want positive"}},
		{"wrong hop", func(c *Config) { c.ConvStrides = []int{5, 4, 2, 2, 1} }, []string{"one frame per 80 samples, want 160"}},
		{"even context kernel", func(c *Config) { c.ContextKernel = 4 }, []string{"context_kernel 4"}},
		{"zero dilation", func(c *Config) { c.ContextDilations = []int{1, 0, 2} }, []string{"context_dilations [1 0 2]"}},
		{"no context layers", func(c *Config) { c.ContextDilations = []int{} }, []string{"context_dilations []"}},
		{"dropout", func(c *Config) { c.Dropout = 1 }, []string{"dropout 1"}},
		{"dim beyond the limit", func(c *Config) { c.Dim = 100000 }, []string{"dim 100000 is beyond the limit 8192"}},
		{"conv_dim beyond the limit", func(c *Config) { c.ConvDim = 1 << 40 }, []string{"conv_dim 1099511627776 is beyond the limit"}},
		{"logmel bins beyond the limit", func(c *Config) { c.Input, c.LogMelBins = "logmel", 513 }, []string{"logmel_bins 513 is beyond the limit 512"}},
		{"largest sizes", func(c *Config) { c.Input, c.LogMelBins, c.Dim = "logmel", 512, 8 }, nil},
		{"huge kernel", func(c *Config) { c.ConvKernels = []int{10, 8, 4, 4, 1 << 50} }, []string{"1125899906842624 is beyond the limit 1024"}},
		{"too many conv layers", func(c *Config) { c.ConvKernels, c.ConvStrides = make([]int, 1000), make([]int, 1000) },
			[]string{"1000 conv_kernels and 1000 conv_strides: beyond the limit of 16 layers"}},
		{"strides overflow", func(c *Config) { c.ConvKernels, c.ConvStrides = []int{2, 2, 2}, []int{1 << 40, 1 << 40, 160} },
			[]string{"one frame per 9223372036854775807 samples"}},
		{"huge context kernel", func(c *Config) { c.ContextKernel = 1<<62 + 1 }, []string{"context_kernel 4611686018427387905 is beyond the limit 1023"}},
		{"too many context layers", func(c *Config) { c.ContextDilations = make([]int, 1000) }, []string{"1000 context_dilations (context layers): beyond the limit 128"}},
		{"huge dilation", func(c *Config) { c.ContextDilations = []int{1, 1 << 40} }, []string{"1099511627776 is beyond the limit 1024"}},
		{"receptive field", func(c *Config) { c.ContextKernel, c.ContextDilations = 21, slices.Repeat([]int{1024}, 10) },
			[]string{"receptive field of 204801 frames, beyond the limit 10001"}},
		{"long input kind", func(c *Config) { c.Input = strings.Repeat("x", 1000) }, []string{`unknown input kind "xxxxxxxx`}},
		{"all at once", func(c *Config) { c.Input, c.Dim, c.Dropout = "x", -1, -0.5 },
			[]string{"unknown input kind", "dim -1", "dropout -0.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Tiny()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := New(c, newRNG(1)); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
			if len(err.Error()) > 2000 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "encoder: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if _, err := New(c, newRNG(1)); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// TestFrames checks Frames and MinSamples against the shape of an actual
// graph over many lengths, short ones included.
func TestFrames(t *testing.T) {
	cfg := Tiny()
	cfg.ConvDim = 4 // the shapes do not depend on the width
	m, err := New(cfg, newRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MinSamples(); got != 465 {
		t.Errorf("MinSamples = %d, want 465", got)
	}
	lengths := []int{1, 100, 464, 465, 466, 624, 625, 626, 640, 800, 1000, 1599, 1600, 1601, 16000, 16159, 16160, 32000, 33333}
	for _, n := range lengths {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := nn.NewGraph()
			f := m.Features(g, g.Input("wave", 2, 1, n))
			want := cfg.Frames(n)
			if n < cfg.MinSamples() {
				if want != 0 || g.Err() == nil {
					t.Fatalf("Frames(%d) = %d and graph error %v: want 0 and an error", n, want, g.Err())
				}
				return
			}
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			if got := f.Shape(); !reflect.DeepEqual(got, []int{2, cfg.ConvDim, want}) {
				t.Fatalf("graph shape %v, Frames(%d) = %d", got, n, want)
			}
			// One frame per 10 ms, less the receptive field.
			if want != (n-cfg.MinSamples())/160+1 {
				t.Errorf("Frames(%d) = %d, want (n - 465)/160 + 1 = %d", n, want, (n-465)/160+1)
			}
		})
	}
	lm := Config{Input: "logmel"}
	if lm.Frames(57) != 57 || lm.MinSamples() != 1 || lm.Frames(0) != 0 {
		t.Errorf("logmel: Frames(57) = %d, MinSamples = %d, Frames(0) = %d", lm.Frames(57), lm.MinSamples(), lm.Frames(0))
	}
}

package encoder

import (
	"slices"
	"testing"
)

// TestParamShapes: ParamShapes lists what New makes, name for name and
// shape for shape, so a checkpoint can be checked before New.
func TestParamShapes(t *testing.T) {
	small := Tiny()
	small.ConvDim, small.Dim, small.ContextDilations = 4, 8, []int{1, 2, 3}
	logmel := small
	logmel.Input, logmel.LogMelBins = "logmel", 40
	odd := small
	odd.ConvKernels, odd.ConvStrides, odd.ContextKernel = []int{3, 5}, []int{16, 10}, 5
	for name, cfg := range map[string]Config{"small": small, "logmel": logmel, "odd": odd, "zero": {ConvDim: 2, Dim: 2}} {
		t.Run(name, func(t *testing.T) {
			m, err := New(cfg, newRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			want := cfg.ParamShapes()
			got := m.Params()
			if len(got) != len(want) {
				t.Fatalf("New makes %d parameters, ParamShapes lists %d", len(got), len(want))
			}
			for i, p := range got {
				if p.Name != want[i].Name || !slices.Equal(p.Shape, want[i].Shape()) {
					t.Errorf("parameter %d: New makes %s %v, ParamShapes lists %s %v", i, p.Name, p.Shape, want[i].Name, want[i].Shape())
				}
			}
			if fd := cfg.FeatureDim().Size; fd != m.Norm.Gamma.Shape[0] {
				t.Errorf("FeatureDim %d, the feature norm has %d channels", fd, m.Norm.Gamma.Shape[0])
			}
		})
	}
}

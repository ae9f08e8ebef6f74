package encoder

import (
	"fmt"

	"github.com/wav2vec-go/wav2vec/nn"
)

// FeatureDim returns the width of feats, the quantizer's input: ConvDim,
// or LogMelBins for the logmel input, with the field it comes from.
func (c Config) FeatureDim() nn.Dim {
	c = c.withDefaults()
	if c.Input == "logmel" {
		return nn.Dim{Size: c.LogMelBins, Field: "encoder.logmel_bins"}
	}
	return nn.Dim{Size: c.ConvDim, Field: "encoder.conv_dim"}
}

// ParamShapes returns the parameters New makes for c, in the same order,
// without allocating them: their names and shapes, each dimension with
// the config field it comes from. Checking a checkpoint's tensors against
// them (nn.Checkpoint.CheckShapes) before New refuses a config that does
// not describe the file without building its model. c must be valid.
func (c Config) ParamShapes() []nn.ParamShape {
	c = c.withDefaults()
	dim := nn.Dim{Size: c.Dim, Field: "encoder.dim"}
	var ps shapeList
	add, norm := ps.add, ps.norm
	if c.Input == "wave" {
		layers := fmt.Sprintf("encoder.conv_kernels (%d layers of the wave input)", len(c.ConvKernels))
		convDim := nn.Dim{Size: c.ConvDim, Field: "encoder.conv_dim"}
		in := nn.Dim{Size: 1}
		for i, k := range c.ConvKernels {
			kernel := nn.Dim{Size: k, Field: fmt.Sprintf("encoder.conv_kernels[%d]", i)}
			add(fmt.Sprintf("encoder.feature.conv.%d.weight", i), layers, convDim, in, kernel)
			norm(fmt.Sprintf("encoder.feature.norm.%d", i), layers, convDim)
			in = convDim
		}
	}
	feat := c.FeatureDim()
	norm("encoder.feature_norm", "", feat)
	add("encoder.proj.weight", "", dim, feat)
	add("encoder.proj.bias", "", dim)
	add("encoder.mask_emb", "", dim)
	layers := fmt.Sprintf("encoder.context_dilations (%d layers)", len(c.ContextDilations))
	kernel := nn.Dim{Size: c.ContextKernel, Field: "encoder.context_kernel"}
	for i := range c.ContextDilations {
		name := fmt.Sprintf("encoder.context.%d", i)
		add(name+".conv.weight", layers, dim, dim, kernel)
		add(name+".conv.bias", layers, dim)
		norm(name+".norm", layers, dim)
	}
	norm("encoder.context.norm", "", dim)
	return ps
}

// shapeList collects the parameters a config calls for.
type shapeList []nn.ParamShape

// add lists a parameter, each dimension with its config field.
func (l *shapeList) add(name, field string, dims ...nn.Dim) {
	*l = append(*l, nn.ParamShape{Name: name, Dims: dims, Field: field})
}

// norm lists a norm's weight and bias.
func (l *shapeList) norm(name, field string, d nn.Dim) {
	l.add(name+".weight", field, d)
	l.add(name+".bias", field, d)
}

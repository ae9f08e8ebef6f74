package pretrain

import "github.com/wav2vec-go/wav2vec/encoder"

// ForwardFLOPs estimates the floating-point operations of one forward pass
// of the pretraining graph on B crops of L samples: the multiply-adds (x2)
// of the convolutions, the projections, the quantizer's logits and the
// similarity matrix of the contrastive loss. Norms, activations and the
// losses' softmaxes are left out (a few percent). A training step costs
// about three times as much (forward, and the data and weight gradients).
// The log-mel features of the logmel input are not counted. With the
// teacher targets it is the student's forward pass (the network on the
// B*clones masked copies, the decoder and the head); see TrainFLOPs.
func (c FullConfig) ForwardFLOPs(B, L int) float64 {
	if c.Pretrain.Targets == TargetsTeacher {
		n := c.Pretrain.Clones
		f, T, _, dim := c.bodyFLOPs(B*n, L)
		return f + decoderFLOPs(c.Pretrain, float64(B*n), T, dim) // the decoder and the head
	}
	f, T, in, dim := c.bodyFLOPs(B, L)
	if f == 0 {
		return 0
	}
	q, fd := c.Quantizer.WithDefaults(), c.Pretrain.FinalDim
	bt := float64(B) * T
	f += 2 * bt * float64(in*q.Groups*q.Codes) // quantizer logits
	f += 2 * bt * float64(fd*(dim+q.Dim))      // final_proj and project_q
	f += 2 * bt * T * float64(fd)              // similarities
	return f
}

// TrainFLOPs estimates one training step's operations on B crops of L
// samples: three times ForwardFLOPs (forward, and the data and weight
// gradients), and with the teacher targets the teacher's forward pass on
// the B unmasked crops.
func (c FullConfig) TrainFLOPs(B, L int) float64 {
	f := 3 * c.ForwardFLOPs(B, L)
	if c.Pretrain.Targets == TargetsTeacher {
		body, _, _, _ := c.bodyFLOPs(B, L)
		f += body
	}
	return f
}

// bodyFLOPs estimates the forward operations of the feature encoder and
// the context network on B crops of L samples (0 for crops too short),
// and returns them with the frames of a crop, the width of the frames the
// quantizer reads and the context network's width.
func (c FullConfig) bodyFLOPs(B, L int) (f, frames float64, in, dim int) {
	if tc := c.Transformer; tc != nil {
		return float64(B) * tc.FLOPs(L), float64(tc.Frames(L)), tc.ConvDims[len(tc.ConvDims)-1], tc.Dim
	}
	e := c.Encoder
	n := L
	in = 1
	kernels := e.ConvKernels
	if e.Input == "logmel" {
		input, err := encoder.NewInput(e)
		if err != nil {
			return 0, 0, 0, 0
		}
		n, in, kernels = input.Frames(L), input.FeatureDim(), nil
		if n <= 0 {
			return 0, 0, 0, 0
		}
	}
	for i, k := range kernels {
		n = (n-k)/e.ConvStrides[i] + 1
		if n <= 0 {
			return 0, 0, 0, 0
		}
		f += 2 * float64(B*n*e.ConvDim*in*k)
		in = e.ConvDim
	}
	T := float64(n)
	bt := float64(B) * T
	f += 2 * bt * float64(in*e.Dim)                                            // proj
	f += 2 * bt * float64(len(e.ContextDilations)*e.Dim*e.Dim*e.ContextKernel) // context
	return f, T, in, e.Dim
}

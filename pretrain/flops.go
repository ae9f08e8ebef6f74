package pretrain

import "github.com/wav2vec-go/wav2vec/encoder"

// ForwardFLOPs estimates the floating-point operations of one forward pass
// of the pretraining graph on B crops of L samples: the multiply-adds (x2)
// of the convolutions, the projections, the quantizer's logits and the
// similarity matrix of the contrastive loss. Norms, activations and the
// losses' softmaxes are left out (a few percent). A training step costs
// about three times as much (forward, and the data and weight gradients).
// The log-mel features of the logmel input are not counted.
func (c FullConfig) ForwardFLOPs(B, L int) float64 {
	q, fd := c.Quantizer.WithDefaults(), c.Pretrain.FinalDim
	if tc := c.Transformer; tc != nil {
		T := float64(tc.Frames(L))
		bt := float64(B) * T
		return float64(B)*tc.FLOPs(L) +
			2*bt*float64(tc.ConvDims[len(tc.ConvDims)-1]*q.Groups*q.Codes) + // quantizer logits
			2*bt*float64(fd*(tc.Dim+q.Dim)) + // final_proj and project_q
			2*bt*T*float64(fd) // similarities
	}
	e := c.Encoder
	var f float64
	n, in := L, 1
	kernels := e.ConvKernels
	if e.Input == "logmel" {
		input, err := encoder.NewInput(e)
		if err != nil {
			return 0
		}
		n, in, kernels = input.Frames(L), input.FeatureDim(), nil
		if n <= 0 {
			return 0
		}
	}
	for i, k := range kernels {
		n = (n-k)/e.ConvStrides[i] + 1
		if n <= 0 {
			return 0
		}
		f += 2 * float64(B*n*e.ConvDim*in*k)
		in = e.ConvDim
	}
	T := float64(n)
	bt := float64(B) * T
	f += 2 * bt * float64(in*e.Dim)                                            // proj
	f += 2 * bt * float64(len(e.ContextDilations)*e.Dim*e.Dim*e.ContextKernel) // context
	f += 2 * bt * float64(in*q.Groups*q.Codes)                                 // quantizer logits
	f += 2 * bt * float64(fd*(e.Dim+q.Dim))                                    // final_proj and project_q
	f += 2 * bt * T * float64(fd)                                              // similarities
	return f
}

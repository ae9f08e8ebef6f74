package pretrain

// ForwardFLOPs estimates the floating-point operations of one forward pass
// of the pretraining graph on B crops of L samples: the multiply-adds (x2)
// of the convolutions, the projections, the quantizer's logits and the
// similarity matrix of the contrastive loss. Norms, activations and the
// losses' softmaxes are left out (a few percent). A training step costs
// about three times as much (forward, and the data and weight gradients).
func (c FullConfig) ForwardFLOPs(B, L int) float64 {
	e := c.Encoder
	var f float64
	n, in := L, 1
	for i, k := range e.ConvKernels {
		n = (n-k)/e.ConvStrides[i] + 1
		if n <= 0 {
			return 0
		}
		f += 2 * float64(B*n*e.ConvDim*in*k)
		in = e.ConvDim
	}
	T := float64(n)
	bt := float64(B) * T
	f += 2 * bt * float64(e.ConvDim*e.Dim)                                     // proj
	f += 2 * bt * float64(len(e.ContextDilations)*e.Dim*e.Dim*e.ContextKernel) // context
	q := c.Quantizer
	f += 2 * bt * float64(e.ConvDim*q.Groups*q.Codes) // quantizer logits
	fd := c.Pretrain.WithDefaults().FinalDim
	f += 2 * bt * float64(fd*(e.Dim+q.Dim)) // final_proj and project_q
	f += 2 * bt * T * float64(fd)           // similarities
	return f
}

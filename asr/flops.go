package asr

// FLOPs returns the floating-point operations (2 per multiply-add) of the
// network's forward pass over n samples, from its input (the waveform, or
// the log-mel features, whose extraction is not counted) to the head's
// output: the convolutions, projections and attention.
func (m *Model) FLOPs(n int) float64 {
	T := float64(m.Frames(n))
	V, D := float64(m.HeadW.Shape[0]), float64(m.HeadW.Shape[1])
	head := 2 * V * D * T
	if t := m.Transformer; t != nil {
		return t.Config.FLOPs(n) + head
	}
	c := m.Encoder.Config
	var f float64
	in, L := 1, n
	for i, k := range c.ConvKernels {
		if c.Input != "wave" {
			break
		}
		L = (L-k)/c.ConvStrides[i] + 1
		f += 2 * float64(c.ConvDim*in*k) * float64(L)
		in = c.ConvDim
	}
	if c.Input != "wave" {
		in = c.LogMelBins
	}
	f += 2 * float64(in) * float64(c.Dim) * T                                            // projection
	f += 2 * float64(len(c.ContextDilations)) * float64(c.Dim*c.Dim*c.ContextKernel) * T // context
	return f + head
}

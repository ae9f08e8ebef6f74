package features

// MelMatrix returns the log-mel filterbank as a dense matrix, NumMels rows
// of NFFT/2+1 power-spectrum bins, row-major: LogMel's row t is
// ln(max(M p_t, 1.1920929e-07)) for the power spectrum p_t of frame t. It
// is for exporters that rebuild LogMel in another runtime.
func (e *Extractor) MelMatrix() []float64 {
	bins := e.cfg.NFFT/2 + 1
	m := make([]float64, len(e.mel)*bins)
	for i, f := range e.mel {
		copy(m[i*bins+f.start:], f.weights)
	}
	return m
}

// LogFloor is the floor LogMel takes the energies to before the log
// (float32's machine epsilon, as Kaldi).
const LogFloor = logFloor

// FrameMatrix returns the linear map from a frame of FrameLength samples
// to what goes into the FFT, as LogMel prepares each frame: the frame's
// mean removed, pre-emphasis, the window. Row i, column j (row-major,
// FrameLength x FrameLength) is the weight of sample j in value i.
func (e *Extractor) FrameMatrix() []float64 {
	n := e.cfg.FrameLength
	a := make([]float64, n*n)
	col := make([]float64, n)
	src := make([]float32, n)
	for j := range n {
		clear(src)
		src[j] = 1
		e.prepareFrame(col, src)
		for i, v := range col {
			a[i*n+j] = v
		}
	}
	return a
}

package kernels

// Conv1dForward64 is Conv1dForward in float64, in plain loops, for
// gradient checks.
func Conv1dForward64(s ConvShape, y, x, w, bias []float64) {
	s.check(len(x), len(w), len(y), biasLen(bias))
	convForwardNaive(s, y, x, w, bias)
}

// Conv1dBackwardData64 is Conv1dBackwardData in float64 (accumulates into dx).
func Conv1dBackwardData64(s ConvShape, dx, dy, w []float64) {
	s.check(len(dx), len(w), len(dy), -1)
	convBackwardDataNaive(s, dx, dy, w)
}

// Conv1dBackwardWeight64 is Conv1dBackwardWeight in float64 (accumulates
// into dw and dbias; dbias may be nil).
func Conv1dBackwardWeight64(s ConvShape, dw, dbias, x, dy []float64) {
	s.check(len(x), len(dw), len(dy), biasLen(dbias))
	convBackwardWeightNaive(s, dw, dbias, x, dy)
}

// convForwardNaive is the direct loop nest of the convolution.
func convForwardNaive[T float32 | float64](s ConvShape, y, x, w, bias []T) {
	tout, st, dl := s.Tout(), s.stride(), s.dilation()
	for b := 0; b < s.B; b++ {
		for o := 0; o < s.Cout; o++ {
			yo := y[(b*s.Cout+o)*tout : (b*s.Cout+o+1)*tout]
			for t := range yo {
				var acc T
				if bias != nil {
					acc = bias[o]
				}
				for c := 0; c < s.Cin; c++ {
					xc := x[(b*s.Cin+c)*s.Tin : (b*s.Cin+c+1)*s.Tin]
					wc := w[(o*s.Cin+c)*s.K : (o*s.Cin+c+1)*s.K]
					for k, wv := range wc {
						if i := t*st + k*dl - s.PadLeft; i >= 0 && i < s.Tin {
							acc += wv * xc[i]
						}
					}
				}
				yo[t] = acc
			}
		}
	}
}

// convBackwardDataNaive accumulates the transpose of the convolution.
func convBackwardDataNaive[T float32 | float64](s ConvShape, dx, dy, w []T) {
	tout, st, dl := s.Tout(), s.stride(), s.dilation()
	for b := 0; b < s.B; b++ {
		for o := 0; o < s.Cout; o++ {
			dyo := dy[(b*s.Cout+o)*tout : (b*s.Cout+o+1)*tout]
			for c := 0; c < s.Cin; c++ {
				dxc := dx[(b*s.Cin+c)*s.Tin : (b*s.Cin+c+1)*s.Tin]
				wc := w[(o*s.Cin+c)*s.K : (o*s.Cin+c+1)*s.K]
				for t, g := range dyo {
					for k, wv := range wc {
						if i := t*st + k*dl - s.PadLeft; i >= 0 && i < s.Tin {
							dxc[i] += wv * g
						}
					}
				}
			}
		}
	}
}

// convBackwardWeightNaive accumulates the weight and bias gradients.
func convBackwardWeightNaive[T float32 | float64](s ConvShape, dw, dbias, x, dy []T) {
	tout, st, dl := s.Tout(), s.stride(), s.dilation()
	for b := 0; b < s.B; b++ {
		for o := 0; o < s.Cout; o++ {
			dyo := dy[(b*s.Cout+o)*tout : (b*s.Cout+o+1)*tout]
			if dbias != nil {
				var sum T
				for _, g := range dyo {
					sum += g
				}
				dbias[o] += sum
			}
			for c := 0; c < s.Cin; c++ {
				xc := x[(b*s.Cin+c)*s.Tin : (b*s.Cin+c+1)*s.Tin]
				wc := dw[(o*s.Cin+c)*s.K : (o*s.Cin+c+1)*s.K]
				for k := range wc {
					var acc T
					for t, g := range dyo {
						if i := t*st + k*dl - s.PadLeft; i >= 0 && i < s.Tin {
							acc += g * xc[i]
						}
					}
					wc[k] += acc
				}
			}
		}
	}
}

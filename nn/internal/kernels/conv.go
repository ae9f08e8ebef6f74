package kernels

import "fmt"

// ConvShape describes a 1-D convolution over [B, Cin, Tin] row-major
// inputs with weights [Cout, Cin, K], producing [B, Cout, Tout] outputs.
// Output frame t reads input frames t*Stride + k*Dilation - PadLeft for
// k in [0, K); frames outside [0, Tin) read as zero. Stride and Dilation
// of zero mean 1.
type ConvShape struct{ B, Cin, Cout, Tin, K, Stride, Dilation, PadLeft, PadRight int }

func (s ConvShape) stride() int {
	if s.Stride <= 0 {
		return 1
	}
	return s.Stride
}

func (s ConvShape) dilation() int {
	if s.Dilation <= 0 {
		return 1
	}
	return s.Dilation
}

// Tout is the output length (Tin + PadLeft + PadRight - Dilation*(K-1) - 1)/Stride + 1.
// It can be zero or negative for inputs too short for the kernel; callers
// check that before calling the convolutions.
func (s ConvShape) Tout() int {
	span := s.Tin + s.PadLeft + s.PadRight - s.dilation()*(s.K-1) - 1
	if span < 0 {
		return 0
	}
	return span/s.stride() + 1
}

// FLOPs is the floating-point operation count of one forward pass,
// 2*B*Cout*Cin*K*Tout (bias not counted).
func (s ConvShape) FLOPs() float64 {
	return 2 * float64(s.B) * float64(s.Cout) * float64(s.Cin) * float64(s.K) * float64(s.Tout())
}

// check panics when the shape is invalid or a slice is too short.
func (s ConvShape) check(x, w, y, bias int) {
	if s.B < 0 || s.Cin <= 0 || s.Cout <= 0 || s.Tin < 0 || s.K <= 0 || s.PadLeft < 0 || s.PadRight < 0 || s.Stride < 0 || s.Dilation < 0 {
		panic(fmt.Sprintf("kernels: conv1d: invalid shape %+v", s))
	}
	if s.Tout() < 1 {
		panic(fmt.Sprintf("kernels: conv1d: shape %+v gives no output frames", s))
	}
	if x >= 0 && x < s.B*s.Cin*s.Tin {
		panic(fmt.Sprintf("kernels: conv1d: input has %d elements, shape %+v needs %d", x, s, s.B*s.Cin*s.Tin))
	}
	if w >= 0 && w < s.Cout*s.Cin*s.K {
		panic(fmt.Sprintf("kernels: conv1d: weights have %d elements, shape %+v needs %d", w, s, s.Cout*s.Cin*s.K))
	}
	if y >= 0 && y < s.B*s.Cout*s.Tout() {
		panic(fmt.Sprintf("kernels: conv1d: output has %d elements, shape %+v needs %d", y, s, s.B*s.Cout*s.Tout()))
	}
	if bias >= 0 && bias < s.Cout {
		panic(fmt.Sprintf("kernels: conv1d: bias has %d elements, shape %+v needs %d", bias, s, s.Cout))
	}
}

// biasLen is the length to check for an optional bias: -1 when absent.
func biasLen[T float32 | float64](bias []T) int {
	if bias == nil {
		return -1
	}
	return len(bias)
}

// Conv1dForward computes y = conv(x, w) + bias, overwriting y. x is
// [B, Cin, Tin], w is [Cout, Cin, K], bias is [Cout] or nil, y is
// [B, Cout, Tout].
func Conv1dForward(s ConvShape, y, x, w, bias []float32) {
	s.check(len(x), len(w), len(y), biasLen(bias))
	convForward(s, y, x, w, bias)
}

// Conv1dBackwardData accumulates the input gradient: dx += conv^T(dy, w).
// dx is [B, Cin, Tin], dy is [B, Cout, Tout], w is [Cout, Cin, K].
func Conv1dBackwardData(s ConvShape, dx, dy, w []float32) {
	s.check(len(dx), len(w), len(dy), -1)
	convBackwardData(s, dx, dy, w)
}

// Conv1dBackwardWeight accumulates the parameter gradients: dw += dy * x
// correlated over time and batch, dbias += sum of dy over batch and time.
// dw is [Cout, Cin, K], dbias is [Cout] or nil, x is [B, Cin, Tin], dy is
// [B, Cout, Tout].
func Conv1dBackwardWeight(s ConvShape, dw, dbias, x, dy []float32) {
	s.check(len(x), len(dw), len(dy), biasLen(dbias))
	convBackwardWeight(s, dw, dbias, x, dy)
}

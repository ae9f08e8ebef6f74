// Package kernels holds the dense numeric kernels behind package nn: a
// single-precision GEMM with an AVX2/FMA assembly micro-kernel (and a
// portable pure-Go fallback), a plain double-precision GEMM, and 1-D
// convolution forward and backward passes built on them.
//
// All matrices and tensors are dense, row-major slices of float32 or
// float64. Shape and length mistakes are programmer errors: the functions
// panic with a message starting with "kernels: ". Nothing here imports
// gorgonia; only package nn imports this package.
//
// Speed. Sgemm packs panels of A and B and runs a 6 x 16 register-blocked
// micro-kernel (VFMADD231PS on YMM registers) when the CPU and OS support
// AVX2 and FMA, detected at start-up with CPUID; elsewhere, and in builds
// with the purego tag, a pure-Go micro-kernel runs on the same packed
// panels (roughly 20 times slower). Large products and convolution batches
// are split over GOMAXPROCS goroutines. The float32 convolutions lower to
// GEMMs over the im2col matrix, which the packing reads straight from the
// input instead of materialising it.
//
// Results agree with a float64 reference to within float32 rounding; the
// summation order, and so the last bits, can depend on GOMAXPROCS. All
// functions are safe for concurrent use. Packing and im2col buffers are
// kept in small free lists for reuse, so the largest recent layer's
// buffers stay allocated.
package kernels

//go:build !amd64 || purego

package kernels

func hasAVX2FMA() bool { return false }

func sgemmKernel6x16(k int, a, b, c *float32, ldc int) {
	panic("kernels: assembly micro-kernel called on a build without it")
}

func hasAVX512() bool { return false }

func sgemmKernel16x16(k int, a, b, c *float32, ldc, acc int) {
	panic("kernels: assembly micro-kernel called on a build without it")
}

func addToAVX2(dst, src *float32, n int) { panic("kernels: assembly called on a build without it") }

func addSquaredDiffAVX2(dst, x, m *float32, n int) {
	panic("kernels: assembly called on a build without it")
}

func normAffineAVX2(y, x, m, r *float32, n int, g, b float32) {
	panic("kernels: assembly called on a build without it")
}

func geluAVX2(y, x *float32, n int, tab *float64) {
	panic("kernels: assembly called on a build without it")
}

func geluGradAVX2(dx, x, dy *float32, n int, tab *float64) {
	panic("kernels: assembly called on a build without it")
}

func expShiftAVX2(dst *float64, src *float32, n int, shift float64) {
	panic("kernels: assembly called on a build without it")
}

func addChain(n int) { panic("kernels: assembly called on a build without it") }

const haveAddChain = false

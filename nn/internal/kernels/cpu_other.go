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

//go:build amd64 && !purego

package kernels

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU and the operating system support
// AVX2 and FMA3 (the same checks as golang.org/x/sys/cpu: CPUID feature
// bits plus the OS saving the YMM state, XCR0 bits 1 and 2).
func hasAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// hasAVX512 reports whether the CPU supports AVX-512F (and AVX2/FMA) and
// the operating system saves the ZMM state (XCR0 bits 1, 2 and 5 to 7).
func hasAVX512() bool {
	if !hasAVX2FMA() {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<16) != 0
}

// sgemmKernel16x16 adds the product of a packed 16 x k panel of A (16
// values per step) and a packed k x 16 panel of B to the 16 x 16 block of C
// at c with row stride ldc (in elements), with AVX-512F; with acc = 0 it
// stores the product instead of adding it. k >= 1.
//
//go:noescape
func sgemmKernel16x16(k int, a, b, c *float32, ldc, acc int)

// sgemmKernel6x16 adds the product of a packed 6 x k panel of A (6 values
// per step) and a packed k x 16 panel of B (16 values per step) to the
// 6 x 16 block of C at c with row stride ldc (in elements). k >= 1.
//
//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int)

// The AVX2 forms of vec.go's loops (n >= 1).
//
//go:noescape
func addToAVX2(dst, src *float32, n int)

//go:noescape
func addSquaredDiffAVX2(dst, x, m *float32, n int)

//go:noescape
func normAffineAVX2(y, x, m, r *float32, n int, gain, bias float32)

// geluAVX2 is GELU's vector form (n a multiple of 4, tab nn's table).
//
//go:noescape
func geluAVX2(y, x *float32, n int, tab *float64)

// geluGradAVX2 is GELU's gradient in vector form (n a multiple of 4, tab
// nn's table of the derivative).
//
//go:noescape
func geluGradAVX2(dx, x, dy *float32, n int, tab *float64)

// expShiftAVX2 is ExpShift's vector form (n a multiple of 4).
//
//go:noescape
func expShiftAVX2(dst *float64, src *float32, n int, shift float64)

// addChain runs 8n dependent one-cycle additions (n >= 1).
//
//go:noescape
func addChain(n int)

// haveAddChain reports whether addChain is the assembly loop.
const haveAddChain = true

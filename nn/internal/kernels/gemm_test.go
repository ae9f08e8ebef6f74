package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is C = alpha*op(A)*op(B) + beta*C in float64, straight from the
// definition, returning the result and the sum of |terms| per element (the
// scale of the rounding error a float32 GEMM may make).
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			cv := 0.0
			if beta != 0 {
				cv = float64(beta) * float64(c[i*ldc+j])
			}
			want[i*n+j] = float64(alpha)*s + cv
			scale[i*n+j] = math.Abs(float64(alpha))*abs + math.Abs(cv)
		}
	}
	return want, scale
}

func randFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// gemmCase is one GEMM shape with strides padded by pad elements.
type gemmCase struct {
	transA, transB bool
	m, n, k, pad   int
	alpha, beta    float32
}

// checkSgemm runs Sgemm on the case with the given worker count and checks
// every element of C, including the padding between rows, which must not change.
func checkSgemm(t *testing.T, rng *rand.Rand, tc gemmCase, workers int) {
	t.Helper()
	ar, acols := tc.m, tc.k
	if tc.transA {
		ar, acols = tc.k, tc.m
	}
	br, bcols := tc.k, tc.n
	if tc.transB {
		br, bcols = tc.n, tc.k
	}
	lda, ldb, ldc := max(acols, 1)+tc.pad, max(bcols, 1)+tc.pad, max(tc.n, 1)+tc.pad
	a := randFloats(rng, max(ar*lda, 1))
	b := randFloats(rng, max(br*ldb, 1))
	c := randFloats(rng, max(tc.m*ldc, 1))
	if tc.beta == 0 {
		for i := range c { // NaN must not leak through beta = 0
			if i%7 == 0 {
				c[i] = float32(math.NaN())
			}
		}
	}
	orig := append([]float32(nil), c...)
	want, scale := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, orig, ldc)
	g := sgemmArgs{transA: tc.transA, transB: tc.transB, m: tc.m, n: tc.n, k: tc.k, alpha: tc.alpha, a: a, lda: lda, b: b, ldb: ldb, beta: tc.beta, c: c, ldc: ldc}
	checkGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, len(a), lda, len(b), ldb, len(c), ldc)
	g.run(workers)
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			got := c[i*ldc+j]
			if j >= tc.n {
				if math.Float32bits(got) != math.Float32bits(orig[i*ldc+j]) {
					t.Fatalf("%+v: padding C[%d,%d] changed from %v to %v", tc, i, j, orig[i*ldc+j], got)
				}
				continue
			}
			w, s := want[i*tc.n+j], scale[i*tc.n+j]
			// float32 accumulation over k terms: a few ulps of the magnitude sum.
			tol := 4*float64(tc.k+2)*0x1p-24*s + 1e-30
			if math.IsNaN(float64(got)) || math.Abs(float64(got)-w) > tol {
				t.Fatalf("%+v workers=%d: C[%d,%d] = %v, want %v (tol %g)", tc, workers, i, j, got, w, tol)
			}
		}
	}
}

// allKernels lists every micro-kernel; tests skip those the CPU lacks.
var allKernels = []microKernel{kernelAVX512, kernelAVX2, kernelPureGo}

// withKernel makes k the active micro-kernel for the rest of the test, or
// skips the test when the CPU cannot run it.
func withKernel(t *testing.T, k microKernel) {
	t.Helper()
	if !k.available() {
		t.Skipf("CPU lacks %v", k)
	}
	old := activeKernel
	activeKernel = k
	t.Cleanup(func() { activeKernel = old })
}

func TestSgemmOddSizes(t *testing.T) {
	sizes := []int{1, 2, 3, 5, 6, 7, 11, 15, 16, 17, 23, 31, 32, 33, 47, 64, 97}
	for _, kern := range allKernels {
		t.Run(fmt.Sprintf("kernel=%v", kern), func(t *testing.T) {
			withKernel(t, kern)
			rng := rand.New(rand.NewPCG(1, 2))
			for trial := 0; trial < 300; trial++ {
				tc := gemmCase{
					transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
					m: sizes[rng.IntN(len(sizes))], n: sizes[rng.IntN(len(sizes))], k: sizes[rng.IntN(len(sizes))],
					pad: rng.IntN(3), alpha: []float32{1, -0.5, 2.25}[rng.IntN(3)], beta: []float32{0, 1, 0.75}[rng.IntN(3)],
				}
				checkSgemm(t, rng, tc, 1+rng.IntN(3))
			}
		})
	}
}

func TestSgemmBlocking(t *testing.T) {
	// Shapes that cross the kc, mc and nc block edges and the parallel split.
	cases := []gemmCase{
		{m: 145, n: 33, k: 257, alpha: 1, beta: 0},
		{transA: true, m: 150, n: 40, k: 520, pad: 1, alpha: -1, beta: 1},
		{transB: true, m: 7, n: 2100, k: 300, pad: 2, alpha: 0.5, beta: 0.5},
		{transA: true, transB: true, m: 300, n: 61, k: 70, pad: 3, alpha: 1, beta: 2},
		{m: 128, n: 800, k: 384, alpha: 1, beta: 1},
		{m: 300, n: 2100, k: 400, pad: 1, alpha: 0.5, beta: 0}, // A packed once, in several blocks
		{m: 5, n: 5, k: 0, alpha: 1, beta: 0.5},
		{m: 5, n: 9, k: 4, alpha: 0, beta: 0},
		{m: 0, n: 9, k: 4, alpha: 1, beta: 0},
	}
	for _, kern := range allKernels {
		for _, tc := range cases {
			for _, workers := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("kernel=%v/%dx%dx%d/ta=%v/tb=%v/w=%d", kern, tc.m, tc.n, tc.k, tc.transA, tc.transB, workers), func(t *testing.T) {
					withKernel(t, kern)
					checkSgemm(t, rand.New(rand.NewPCG(3, uint64(tc.m*tc.n+tc.k))), tc, workers)
				})
			}
		}
	}
}

// TestSgemmAsmMatchesGo checks that the assembly micro-kernels agree with
// the portable one to within float32 rounding on the same inputs.
func TestSgemmAsmMatchesGo(t *testing.T) {
	for _, kern := range []microKernel{kernelAVX512, kernelAVX2} {
		t.Run(kern.String(), func(t *testing.T) {
			if !kern.available() {
				t.Skipf("CPU lacks %v", kern)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			m, n, k := 37, 70, 300
			a, b := randFloats(rng, m*k), randFloats(rng, k*n)
			got := make([]float32, m*n)
			goRes := make([]float32, m*n)
			withKernel(t, kern)
			Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, got, n)
			activeKernel = kernelPureGo
			Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, goRes, n)
			for i := range got {
				if d := math.Abs(float64(got[i] - goRes[i])); d > 1e-4*math.Sqrt(float64(k)) {
					t.Fatalf("element %d: %v %v, Go %v", i, kern, got[i], goRes[i])
				}
			}
		})
	}
}

// TestBestKernel checks the run-time selection: AVX-512 implies AVX2, the
// active micro-kernel is one the CPU has, KernelEnv pins it, and a name it
// does not know or a kernel the CPU lacks leaves the choice to measurement.
func TestBestKernel(t *testing.T) {
	if hasAVX512() && !hasAVX2FMA() {
		t.Error("AVX-512 reported without AVX2/FMA")
	}
	if !activeKernel.available() {
		t.Errorf("active kernel %v is not available", activeKernel)
	}
	for _, k := range availableKernels() {
		t.Setenv(KernelEnv, k.String())
		if got := bestKernel(); got != k {
			t.Errorf("%s=%s: bestKernel() = %v", KernelEnv, k, got)
		}
	}
	t.Setenv(KernelEnv, "sse9")
	if got := bestKernel(); !got.available() || (got == kernelPureGo && len(availableKernels()) > 1) {
		t.Errorf("%s=sse9: bestKernel() = %v", KernelEnv, got)
	}
	t.Logf("micro-kernel: %v (available %v)", activeKernel, availableKernels())
}

func TestDgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 50; trial++ {
		ta, tb := rng.IntN(2) == 1, rng.IntN(2) == 1
		m, n, k := 1+rng.IntN(9), 1+rng.IntN(9), 1+rng.IntN(9)
		a32, b32, c32 := randFloats(rng, m*k), randFloats(rng, k*n), randFloats(rng, m*n)
		lda, ldb := k, n
		if ta {
			lda = m
		}
		if tb {
			ldb = k
		}
		want, _ := refGemm(ta, tb, m, n, k, 1.5, a32, lda, b32, ldb, -1, c32, n)
		a, b, c := to64(a32), to64(b32), to64(c32)
		Dgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, -1, c, n)
		for i := range c {
			if math.Abs(c[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("trial %d: C[%d] = %v, want %v", trial, i, c[i], want[i])
			}
		}
	}
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func TestSgemmPanicsOnBadShape(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"short A", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"small ldc", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 4), 1)
		}},
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
		{"short B transposed", func() {
			Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 2, 0, make([]float32, 6), 3)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}

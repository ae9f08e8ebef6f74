package kernels

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices;
// op(X) = X or X^T. A is m x k (k x m if transA), B is k x n (n x k if
// transB), C is m x n; lda, ldb and ldc are the row strides. When beta is
// zero C is overwritten (NaNs in C do not propagate).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	g := sgemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	g.run(sgemmWorkers(m, n, k))
}

// Dgemm is Sgemm in float64. It is plain Go, meant for gradient checks.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float64
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
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// checkGemm panics when the dimensions, strides or slice lengths cannot
// describe the matrices of a GEMM.
func checkGemm(transA, transB bool, m, n, k, na, lda, nb, ldb, nc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernels: gemm: negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("A", ar, ac, na, lda)
	checkMat("B", br, bc, nb, ldb)
	checkMat("C", m, n, nc, ldc)
}

func checkMat(name string, r, c, n, ld int) {
	if ld < max(c, 1) {
		panic("kernels: gemm: leading dimension of " + name + " smaller than its column count")
	}
	if r > 0 && c > 0 && n < (r-1)*ld+c {
		panic("kernels: gemm: slice " + name + " too short for its shape")
	}
}

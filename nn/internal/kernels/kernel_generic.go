package kernels

// kernelGo is the portable micro-kernel: c[6 x 16] += a-panel * b-panel.
// It works two columns at a time so that its twelve sums stay in registers.
func kernelGo(kb int, a, b, c []float32, ldc int) {
	const mr = 6
	a = a[:kb*mr]
	b = b[:kb*nr]
	for j := 0; j < nr; j += 2 {
		var c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51 float32
		ap, bp := a, b[j:]
		for len(ap) >= mr && len(bp) >= 2 {
			b0, b1 := bp[0], bp[1]
			a0, a1, a2, a3, a4, a5 := ap[0], ap[1], ap[2], ap[3], ap[4], ap[5]
			c00 += a0 * b0
			c01 += a0 * b1
			c10 += a1 * b0
			c11 += a1 * b1
			c20 += a2 * b0
			c21 += a2 * b1
			c30 += a3 * b0
			c31 += a3 * b1
			c40 += a4 * b0
			c41 += a4 * b1
			c50 += a5 * b0
			c51 += a5 * b1
			ap = ap[mr:]
			if len(bp) < nr {
				break
			}
			bp = bp[nr:]
		}
		c[j] += c00
		c[j+1] += c01
		c[ldc+j] += c10
		c[ldc+j+1] += c11
		c[2*ldc+j] += c20
		c[2*ldc+j+1] += c21
		c[3*ldc+j] += c30
		c[3*ldc+j+1] += c31
		c[4*ldc+j] += c40
		c[4*ldc+j+1] += c41
		c[5*ldc+j] += c50
		c[5*ldc+j+1] += c51
	}
}

package kernels

import (
	"runtime"
	"sync"
)

// Register and cache blocking of the single-precision GEMM. The micro-kernel
// keeps a 6 x 16 block of C in twelve YMM registers; a packed 6 x kc panel
// of A and a packed kc x 16 panel of B stream through it. A kc x 16 panel of
// B (16 KiB at kc = 256) stays in the 32 KiB L1 while the mc x kc block of A
// (144 KiB) sits in the 512 KiB L2 of a Zen 3 core.
const (
	mr    = 6
	nr    = 16
	kcMax = 256
	mcMax = 144
	ncMax = 2048
)

// useAsm selects the AVX2/FMA micro-kernel; tests switch it off to check
// the portable one on the same machine.
var useAsm = hasAVX2FMA()

// sgemmMinWork is the m*n*k below which Sgemm stays on one goroutine.
const sgemmMinWork = 1 << 20

// sgemmArgs is one GEMM call: C = alpha*op(A)*op(B) + beta*C.
type sgemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int

	// cols, when set, replaces b: op(B) is the im2col matrix it describes
	// (transB: its transpose), starting at column colOff of op(B).
	cols   *colSource
	colOff int
}

// sgemmWorkers is how many goroutines a GEMM of this size should use.
func sgemmWorkers(m, n, k int) int {
	w := runtime.GOMAXPROCS(0)
	if w <= 1 || m*n*k < sgemmMinWork {
		return 1
	}
	tiles := max(ceilDiv(m, mr), ceilDiv(n, nr))
	return max(1, min(w, tiles/2))
}

// runUpTo runs the GEMM on at most workers goroutines, fewer when it is small.
func (g sgemmArgs) runUpTo(workers int) {
	g.run(min(workers, sgemmWorkers(g.m, g.n, g.k)))
}

// run computes the GEMM on the given number of goroutines, splitting C into
// column strips (or row strips when C has more row panels than column
// panels) whose widths are multiples of the register block.
func (g sgemmArgs) run(workers int) {
	if g.m == 0 || g.n == 0 {
		return
	}
	if workers <= 1 || g.k == 0 || g.alpha == 0 {
		s := gemmScratch.get()
		g.serial(s)
		gemmScratch.put(s)
		return
	}
	var wg sync.WaitGroup
	splitN := ceilDiv(g.n, nr) >= ceilDiv(g.m, mr)
	for w := 0; w < workers; w++ {
		sub := g
		if splitN {
			j0, j1 := splitRange(g.n, nr, w, workers)
			if j0 >= j1 {
				continue
			}
			sub.n = j1 - j0
			sub.c = g.c[j0:]
			if g.cols != nil {
				sub.colOff += j0
			} else if g.transB {
				sub.b = g.b[j0*g.ldb:]
			} else {
				sub.b = g.b[j0:]
			}
		} else {
			i0, i1 := splitRange(g.m, mr, w, workers)
			if i0 >= i1 {
				continue
			}
			sub.m = i1 - i0
			sub.c = g.c[i0*g.ldc:]
			if g.transA {
				sub.a = g.a[i0:]
			} else {
				sub.a = g.a[i0*g.lda:]
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := gemmScratch.get()
			sub.serial(s)
			gemmScratch.put(s)
		}()
	}
	wg.Wait()
}

// splitRange returns part w of n elements cut into parts of whole blocks.
func splitRange(n, block, w, parts int) (lo, hi int) {
	blocks := ceilDiv(n, block)
	lo = min(n, blocks*w/parts*block)
	hi = min(n, blocks*(w+1)/parts*block)
	return lo, hi
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// serial computes the GEMM on the calling goroutine with the scratch s.
func (g *sgemmArgs) serial(s *sgemmScratch) {
	m, n, k, ldc := g.m, g.n, g.k, g.ldc
	scaleC(g.c, m, n, ldc, g.beta)
	if k == 0 || g.alpha == 0 {
		return
	}
	// Even block sizes: k = 384 becomes two blocks of 192, not 256 + 128.
	kc := ceilDiv(k, ceilDiv(k, kcMax))
	mc := ceilDiv(ceilDiv(m, ceilDiv(m, mcMax)), mr) * mr
	ncTop := min(ncMax, ceilDiv(n, nr)*nr)
	ap := s.floats(&s.a, mc*kc)
	bp := s.floats(&s.b, kc*ncTop)
	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			g.packB(bp, kb, nc, pc, jc)
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				g.packA(ap, mb, kb, ic, pc)
				macroKernel(mb, nc, kb, ap, bp, g.c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// scaleC multiplies the m x n matrix c by beta; beta = 0 clears it.
func scaleC(c []float32, m, n, ldc int, beta float32) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// packA copies alpha*op(A)[ic:ic+mb, pc:pc+kb] into panels of mr rows: panel
// q holds, for each p, the mr values of rows ic+q*mr.., zero past row mb.
func (g *sgemmArgs) packA(dst []float32, mb, kb, ic, pc int) {
	alpha, a, lda := g.alpha, g.a, g.lda
	for ir := 0; ir < mb; ir += mr {
		rows := min(mr, mb-ir)
		d := dst[ir*kb : ir*kb+mr*kb]
		if rows < mr {
			clear(d)
		}
		if g.transA {
			for p := 0; p < kb; p++ {
				src := a[(pc+p)*lda+ic+ir:][:rows]
				dp := d[p*mr : p*mr+rows]
				for r, v := range src {
					dp[r] = alpha * v
				}
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(ic+ir+r)*lda+pc:][:kb]
			if alpha == 1 {
				for p, v := range src {
					d[p*mr+r] = v
				}
				continue
			}
			for p, v := range src {
				d[p*mr+r] = alpha * v
			}
		}
	}
}

// packB copies op(B)[pc:pc+kb, jc:jc+nc] into panels of nr columns: panel q
// holds, for each p, the nr values of columns jc+q*nr.., zero past nc.
func (g *sgemmArgs) packB(dst []float32, kb, nc, pc, jc int) {
	b, ldb := g.b, g.ldb
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		d := dst[jr*kb : jr*kb+nr*kb]
		switch {
		case g.cols != nil && g.transB:
			g.cols.packCols(d, pc, kb, g.colOff+jc+jr, cols)
		case g.cols != nil:
			g.cols.packRows(d, pc, kb, g.colOff+jc+jr, cols)
		case cols < nr:
			clear(d)
			for p := 0; p < kb; p++ {
				dp := d[p*nr : p*nr+cols]
				if g.transB {
					for j := range dp {
						dp[j] = b[(jc+jr+j)*ldb+pc+p]
					}
				} else {
					copy(dp, b[(pc+p)*ldb+jc+jr:][:cols])
				}
			}
		case g.transB:
			packBT(d, b[(jc+jr)*ldb+pc:], ldb, kb)
		default:
			src := b[pc*ldb+jc+jr:]
			for p := 0; p < kb; p++ {
				*(*[nr]float32)(d[p*nr:]) = *(*[nr]float32)(src[p*ldb:])
			}
		}
	}
}

// packBT transposes 16 rows of length kb (row stride ldb) into d[kb x 16].
func packBT(d, b []float32, ldb, kb int) {
	for h := 0; h < nr; h += 8 {
		r0 := b[(h+0)*ldb:][:kb]
		r1 := b[(h+1)*ldb:][:kb]
		r2 := b[(h+2)*ldb:][:kb]
		r3 := b[(h+3)*ldb:][:kb]
		r4 := b[(h+4)*ldb:][:kb]
		r5 := b[(h+5)*ldb:][:kb]
		r6 := b[(h+6)*ldb:][:kb]
		r7 := b[(h+7)*ldb:][:kb]
		for p := range r0 {
			dp := (*[8]float32)(d[p*nr+h:])
			dp[0], dp[1], dp[2], dp[3] = r0[p], r1[p], r2[p], r3[p]
			dp[4], dp[5], dp[6], dp[7] = r4[p], r5[p], r6[p], r7[p]
		}
	}
}

// macroKernel adds the product of a packed mb x kb block of A and a packed
// kb x nb block of B to C, one 6 x 16 tile at a time.
func macroKernel(mb, nb, kb int, ap, bp, c []float32, ldc int) {
	var tmp [mr * nr]float32
	for jr := 0; jr < nb; jr += nr {
		b := bp[jr*kb : jr*kb+nr*kb]
		cols := min(nr, nb-jr)
		for ir := 0; ir < mb; ir += mr {
			a := ap[ir*kb : ir*kb+mr*kb]
			rows := min(mr, mb-ir)
			if rows == mr && cols == nr {
				// The tile lies inside C: row ir+5 < m and column jr+15 < n.
				ct := c[ir*ldc+jr : (ir+mr-1)*ldc+jr+nr]
				if useAsm {
					sgemmKernel6x16(kb, &a[0], &b[0], &ct[0], ldc)
				} else {
					kernelGo(kb, a, b, ct, ldc)
				}
				continue
			}
			clear(tmp[:])
			if useAsm {
				sgemmKernel6x16(kb, &a[0], &b[0], &tmp[0], nr)
			} else {
				kernelGo(kb, a, b, tmp[:], nr)
			}
			for r := 0; r < rows; r++ {
				crow := c[(ir+r)*ldc+jr:][:cols]
				for j := range crow {
					crow[j] += tmp[r*nr+j]
				}
			}
		}
	}
}

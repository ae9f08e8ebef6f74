package kernels

import (
	"os"
	"runtime"
	"sync"
	"time"
)

// Register and cache blocking of the single-precision GEMM. The AVX2
// micro-kernel keeps a 6 x 16 block of C in twelve YMM registers, the
// AVX-512 one a 16 x 16 block in sixteen ZMM registers; a packed mr x kc
// panel of A and a packed kc x 16 panel of B stream through it. A kc x 16
// panel of B (16 KiB at kc = 256) stays in a 32 KiB L1 while the mc x kc
// block of A (144 KiB) sits in L2.
const (
	nr    = 16
	mrMax = 16 // the largest mr of the micro-kernels
	kcMax = 256
	// kcMax512 is the AVX-512 kernel's k block: its C tile costs more to
	// load and store relative to a k step, and the CPUs that have AVX-512
	// have 48 KiB L1 caches.
	kcMax512 = 384
	mcMax    = 144
	ncMax    = 2048
)

// microKernel names one implementation of the micro-kernel.
type microKernel int

const (
	kernelPureGo microKernel = iota // portable Go, 6 x 16
	kernelAVX2                      // AVX2/FMA assembly, 6 x 16
	kernelAVX512                    // AVX-512F assembly, 16 x 16
)

func (k microKernel) String() string {
	return [...]string{"go", "avx2", "avx512"}[k]
}

// mr is the number of rows of C the micro-kernel computes at once.
func (k microKernel) mr() int {
	if k == kernelAVX512 {
		return 16
	}
	return 6
}

// kcMax is the largest k block: the kc x 16 panel of B must stay in L1.
func (k microKernel) kcMax() int {
	if k == kernelAVX512 {
		return kcMax512
	}
	return kcMax
}

// available reports whether the CPU (and this build) can run k.
func (k microKernel) available() bool {
	switch k {
	case kernelAVX2:
		return hasAVX2FMA()
	case kernelAVX512:
		return hasAVX512()
	}
	return true
}

// availableKernels lists the micro-kernels the CPU supports, widest first.
func availableKernels() []microKernel {
	var ks []microKernel
	for _, k := range []microKernel{kernelAVX512, kernelAVX2, kernelPureGo} {
		if k.available() {
			ks = append(ks, k)
		}
	}
	return ks
}

// KernelEnv names the environment variable that pins the micro-kernel
// ("avx512", "avx2" or "go") instead of measuring.
const KernelEnv = "WAV2VEC_SGEMM_KERNEL"

// bestKernel is the micro-kernel to use on this machine: the one KernelEnv
// names if the CPU has it, else the fastest by measurement. Which of
// AVX-512 and AVX2 is faster depends on the CPU, not on its feature flags:
// on AMD Zen 4, which splits 512-bit operations in two, the AVX2 kernel can
// win; on Zen 5 and Intel the AVX-512 one does. A wider kernel is kept
// unless a narrower one is clearly (10%) faster, so that the choice does
// not flip between runs on a busy machine.
func bestKernel() microKernel {
	ks := availableKernels()
	if k, ok := kernelByName(os.Getenv(KernelEnv)); ok && k.available() {
		return k
	}
	if len(ks) == 1 || ks[1] == kernelPureGo {
		return ks[0]
	}
	return fastestKernel(ks[0], ks[1])
}

// kernelByName returns the micro-kernel a KernelEnv value names.
func kernelByName(name string) (microKernel, bool) {
	for _, k := range []microKernel{kernelPureGo, kernelAVX2, kernelAVX512} {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

// fastestKernel times one GEMM of a conv layer's shape (96 x 256 x 384,
// 19 MFLOP, in L2) on the calling goroutine with each kernel, alternately,
// five times, and returns narrow when its best time is at least 10% below
// wide's, else wide. It takes about 2 ms.
func fastestKernel(wide, narrow microKernel) microKernel {
	const m, n, k = 96, 256, 384
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.125
	}
	for i := range b {
		b[i] = float32(i%5) * 0.25
	}
	s := new(sgemmScratch)
	best := [2]time.Duration{time.Hour, time.Hour}
	for round := 0; round < 5; round++ {
		for i, kern := range []microKernel{wide, narrow} {
			g := sgemmArgs{m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, kern: kern, mr: kern.mr()}
			start := time.Now()
			g.serial(s)
			best[i] = min(best[i], time.Since(start))
		}
	}
	if best[1]*10 < best[0]*9 {
		return narrow
	}
	return wide
}

// activeKernel is the micro-kernel new GEMMs use; tests switch it to check
// every available one on the same machine.
var activeKernel = bestKernel()

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

	// kern is the micro-kernel (set by run from activeKernel) and mr its
	// row count.
	kern microKernel
	mr   int

	// packedA, when set, holds all of alpha*op(A) packed (see packAllA),
	// so that serial does not pack it again.
	packedA []float32
}

// sgemmWorkers is how many goroutines a GEMM of this size should use.
func sgemmWorkers(m, n, k int) int {
	w := runtime.GOMAXPROCS(0)
	if w <= 1 || m*n*k < sgemmMinWork {
		return 1
	}
	tiles := max(ceilDiv(m, activeKernel.mr()), ceilDiv(n, nr))
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
	g.kern = activeKernel
	mr := g.kern.mr()
	g.mr = mr
	if workers <= 1 || g.k == 0 || g.alpha == 0 {
		s := gemmScratch.get()
		g.serial(s)
		gemmScratch.put(s)
		return
	}
	var wg sync.WaitGroup
	splitN := ceilDiv(g.n, nr) >= ceilDiv(g.m, mr)
	if splitN {
		// Every strip needs all of A: pack it once, in parallel, rather
		// than once per goroutine.
		s := gemmScratch.get()
		defer gemmScratch.put(s)
		g.packedA = s.floats(&s.full, g.packedALen())
		g.packAllA(g.packedA, workers)
	}
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
	m, n, k, ldc, mr := g.m, g.n, g.k, g.ldc, g.mr
	// The AVX-512 micro-kernel can store its first k block instead of
	// adding it, which saves clearing C when beta is 0.
	overwrite := g.beta == 0 && g.kern == kernelAVX512 && k > 0 && g.alpha != 0
	if !overwrite {
		scaleC(g.c, m, n, ldc, g.beta)
	}
	if k == 0 || g.alpha == 0 {
		return
	}
	kc, mc := g.blocks()
	ncTop := min(ncMax, ceilDiv(n, nr)*nr)
	if g.packedA == nil && n > ncMax {
		// A would be packed again for every ncMax columns.
		g.packedA = s.floats(&s.full, g.packedALen())
		g.packAllA(g.packedA, 1)
	}
	ap := s.floats(&s.a, mc*kc)
	bp := s.floats(&s.b, kc*ncTop)
	mPad := ceilDiv(m, mr) * mr
	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			g.packB(bp, kb, nc, pc, jc)
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				a := ap
				if g.packedA != nil {
					a = g.packedA[pc*mPad+ic*kb:]
				} else {
					g.packA(ap, mb, kb, ic, pc)
				}
				macroKernel(g.kern, mr, mb, nc, kb, a, bp, g.c[ic*ldc+jc:], ldc, overwrite && pc == 0)
			}
		}
	}
}

// blocks returns the k and m block sizes. Even block sizes: k = 384
// becomes two blocks of 192, not 256 + 128.
func (g *sgemmArgs) blocks() (kc, mc int) {
	kc = ceilDiv(g.k, ceilDiv(g.k, g.kern.kcMax()))
	mc = ceilDiv(ceilDiv(g.m, ceilDiv(g.m, mcMax)), g.mr) * g.mr
	return kc, mc
}

// packedALen is the length of all of op(A) packed: m rounded up to whole
// panels, times k.
func (g *sgemmArgs) packedALen() int { return ceilDiv(g.m, g.mr) * g.mr * g.k }

// packAllA packs all of alpha*op(A) into dst on the given number of
// goroutines: the block of k offset pc and row offset ic, as serial cuts
// them, goes to dst[pc*mPad+ic*kb:], mPad being m rounded up to panels.
func (g *sgemmArgs) packAllA(dst []float32, workers int) {
	kc, mc := g.blocks()
	mPad := ceilDiv(g.m, g.mr) * g.mr
	type block struct{ pc, ic, kb, mb int }
	var blocks []block
	for pc := 0; pc < g.k; pc += kc {
		for ic := 0; ic < g.m; ic += mc {
			blocks = append(blocks, block{pc, ic, min(kc, g.k-pc), min(mc, g.m-ic)})
		}
	}
	pack := func(w int) {
		for i := w; i < len(blocks); i += workers {
			b := blocks[i]
			g.packA(dst[b.pc*mPad+b.ic*b.kb:], b.mb, b.kb, b.ic, b.pc)
		}
	}
	if workers <= 1 || len(blocks) == 1 {
		workers = 1
		pack(0)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pack(w)
		}()
	}
	pack(0)
	wg.Wait()
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
	alpha, a, lda, mr := g.alpha, g.a, g.lda, g.mr
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
// kb x nb block of B to C, one mr x 16 tile at a time, with the micro-kernel
// kern; with overwrite (AVX-512 only) it stores the product instead.
func macroKernel(kern microKernel, mr, mb, nb, kb int, ap, bp, c []float32, ldc int, overwrite bool) {
	var tmp [mrMax * nr]float32
	for jr := 0; jr < nb; jr += nr {
		b := bp[jr*kb : jr*kb+nr*kb]
		cols := min(nr, nb-jr)
		for ir := 0; ir < mb; ir += mr {
			a := ap[ir*kb : ir*kb+mr*kb]
			rows := min(mr, mb-ir)
			if rows == mr && cols == nr {
				// The tile lies inside C: row ir+5 < m and column jr+15 < n.
				ct := c[ir*ldc+jr : (ir+mr-1)*ldc+jr+nr]
				callKernel(kern, kb, a, b, ct, ldc, overwrite)
				continue
			}
			clear(tmp[:mr*nr])
			callKernel(kern, kb, a, b, tmp[:], nr, false)
			for r := 0; r < rows; r++ {
				crow := c[(ir+r)*ldc+jr:][:cols]
				if overwrite {
					copy(crow, tmp[r*nr:])
					continue
				}
				for j := range crow {
					crow[j] += tmp[r*nr+j]
				}
			}
		}
	}
}

// callKernel runs one micro-kernel call: c[mr x 16] += a-panel * b-panel,
// or = with overwrite (AVX-512 only).
func callKernel(kern microKernel, kb int, a, b, c []float32, ldc int, overwrite bool) {
	switch kern {
	case kernelAVX512:
		acc := 1
		if overwrite {
			acc = 0
		}
		sgemmKernel16x16(kb, &a[0], &b[0], &c[0], ldc, acc)
	case kernelAVX2:
		sgemmKernel6x16(kb, &a[0], &b[0], &c[0], ldc)
	default:
		kernelGo(kb, a, b, c, ldc)
	}
}

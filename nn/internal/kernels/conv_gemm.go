package kernels

import (
	"runtime"
	"sync"
)

// The float32 convolutions lower each batch item to one GEMM over an
// im2col matrix cols[Cin*K, Tout], cols[c*K+k, t] = x[c, t*Stride +
// k*Dilation - PadLeft] (zero outside the input), which the GEMM's packing
// reads straight from x (colSource) rather than from a copy:
//
//	forward:          y_b  = W[Cout, Cin*K] * cols_b (+ bias)
//	backward data:    dx_b += col2im(W^T * dy_b)
//	backward weight:  dW   += dy_b * cols_b^T
//
// A pointwise convolution (K = 1, Stride 1, no padding) has cols_b = x_b
// and skips the copy. Batch items are spread over GOMAXPROCS goroutines,
// each running single-threaded GEMMs; items left over after an even split
// run one at a time with the GEMM itself split over the goroutines.

// pointwise reports whether cols_b is x_b itself.
func (s ConvShape) pointwise() bool {
	return s.K == 1 && s.stride() == 1 && s.PadLeft == 0 && s.PadRight == 0
}

// convScratch is one goroutine's buffers: the im2col matrix and private
// gradient sums.
type convScratch struct {
	cols, dw, dbias []float32
	tab             []int
	used            bool
}

var convScratchList freeList[convScratch]

// runBatch calls body(worker, scratch, lo, hi, gemmWorkers) so that the
// items [lo, hi) of nb cover every item once. It returns the scratches
// (one per worker) for the caller to reduce and release.
func runBatch(nb int, body func(w int, sc *convScratch, lo, hi, gemmWorkers int)) []*convScratch {
	p := max(1, runtime.GOMAXPROCS(0))
	scr := make([]*convScratch, p)
	for i := range scr {
		scr[i] = convScratchList.get()
		scr[i].used = false
	}
	if p == 1 {
		body(0, scr[0], 0, nb, 1)
		return scr
	}
	full := nb / p * p
	if full > 0 {
		var wg sync.WaitGroup
		for w := 1; w < p; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body(w, scr[w], w*full/p, (w+1)*full/p, 1)
			}()
		}
		body(0, scr[0], 0, full/p, 1)
		wg.Wait()
	}
	if full < nb {
		body(0, scr[0], full, nb, p)
	}
	return scr
}

func releaseScratch(scr []*convScratch) {
	for _, sc := range scr {
		convScratchList.put(sc)
	}
}

// validRange is the range [lo, hi) of output frames t in [0, tout) whose
// input frame t*st + off lies in [0, tin).
func validRange(off, st, tin, tout int) (lo, hi int) {
	if off < 0 {
		lo = (-off + st - 1) / st
	}
	if tin-1-off >= 0 {
		hi = (tin-1-off)/st + 1
	}
	hi = min(hi, tout)
	lo = min(lo, hi)
	return lo, hi
}

// col2im adds cols[Cin*K, Tout] into one batch item dx[Cin, Tin], the
// transpose of im2col.
func col2im(s ConvShape, dx, cols []float32) {
	tout, st, dl := s.Tout(), s.stride(), s.dilation()
	for c := 0; c < s.Cin; c++ {
		dxc := dx[c*s.Tin : (c+1)*s.Tin]
		for k := 0; k < s.K; k++ {
			row := cols[(c*s.K+k)*tout : (c*s.K+k+1)*tout]
			off := k*dl - s.PadLeft
			lo, hi := validRange(off, st, s.Tin, tout)
			if lo == hi {
				continue
			}
			if st == 1 {
				dst := dxc[lo+off : hi+off]
				for t, v := range row[lo:hi] {
					dst[t] += v
				}
				continue
			}
			dst := dxc[lo*st+off:]
			for t, v := range row[lo:hi] {
				dst[t*st] += v
			}
		}
	}
}

func convForward(s ConvShape, y, x, w, bias []float32) {
	tout, ck := s.Tout(), s.Cin*s.K
	releaseScratch(runBatch(s.B, func(_ int, sc *convScratch, lo, hi, gw int) {
		for b := lo; b < hi; b++ {
			xb := x[b*s.Cin*s.Tin : (b+1)*s.Cin*s.Tin]
			yb := y[b*s.Cout*tout : (b+1)*s.Cout*tout]
			var beta float32
			if bias != nil {
				beta = 1
				for o, v := range bias[:s.Cout] {
					row := yb[o*tout : (o+1)*tout]
					for t := range row {
						row[t] = v
					}
				}
			}
			g := sgemmArgs{false, false, s.Cout, tout, ck, 1, w, ck, xb, tout, beta, yb, tout, nil, 0, 0, 0, nil}
			if !s.pointwise() {
				src := newColSource(s, xb, &sc.tab)
				g.b, g.cols = nil, &src
			}
			g.runUpTo(gw)
		}
	}))
}

func convBackwardData(s ConvShape, dx, dy, w []float32) {
	tout, ck := s.Tout(), s.Cin*s.K
	releaseScratch(runBatch(s.B, func(_ int, sc *convScratch, lo, hi, gw int) {
		for b := lo; b < hi; b++ {
			dxb := dx[b*s.Cin*s.Tin : (b+1)*s.Cin*s.Tin]
			dyb := dy[b*s.Cout*tout : (b+1)*s.Cout*tout]
			if s.pointwise() {
				sgemmArgs{true, false, s.Cin, tout, s.Cout, 1, w, s.Cin, dyb, tout, 1, dxb, s.Tin, nil, 0, 0, 0, nil}.runUpTo(gw)
				continue
			}
			cols := grow(&sc.cols, ck*tout)
			sgemmArgs{true, false, ck, tout, s.Cout, 1, w, ck, dyb, tout, 0, cols, tout, nil, 0, 0, 0, nil}.runUpTo(gw)
			col2im(s, dxb, cols)
		}
	}))
}

func convBackwardWeight(s ConvShape, dw, dbias, x, dy []float32) {
	tout, ck := s.Tout(), s.Cin*s.K
	scr := runBatch(s.B, func(wk int, sc *convScratch, lo, hi, gw int) {
		if lo >= hi {
			return
		}
		// Worker 0 adds straight into dw; the others into private sums.
		dwAcc, dbAcc := dw[:s.Cout*ck], dbias
		if wk != 0 {
			dwAcc = grow(&sc.dw, s.Cout*ck)
			clear(dwAcc)
			if dbias != nil {
				dbAcc = grow(&sc.dbias, s.Cout)
				clear(dbAcc)
			}
			sc.used = true
		}
		for b := lo; b < hi; b++ {
			xb := x[b*s.Cin*s.Tin : (b+1)*s.Cin*s.Tin]
			dyb := dy[b*s.Cout*tout : (b+1)*s.Cout*tout]
			g := sgemmArgs{false, true, s.Cout, ck, tout, 1, dyb, tout, xb, tout, 1, dwAcc, ck, nil, 0, 0, 0, nil}
			if !s.pointwise() {
				src := newColSource(s, xb, &sc.tab)
				g.b, g.cols = nil, &src
			}
			g.runUpTo(gw)
			if dbAcc != nil {
				for o := range dbAcc[:s.Cout] {
					var sum float32
					for _, v := range dyb[o*tout : (o+1)*tout] {
						sum += v
					}
					dbAcc[o] += sum
				}
			}
		}
	})
	for _, sc := range scr[1:] {
		if !sc.used {
			continue
		}
		for i, v := range sc.dw[:s.Cout*ck] {
			dw[i] += v
		}
		if dbias != nil {
			for i, v := range sc.dbias[:s.Cout] {
				dbias[i] += v
			}
		}
	}
	releaseScratch(scr)
}

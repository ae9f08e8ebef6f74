package kernels

// colSource is the im2col matrix of one batch item, read straight from the
// input while packing GEMM panels, so that it is never written out:
// cols[r, t] = x[c, t*st + off(kk)] with r = c*k + kk, zero outside the input.
type colSource struct {
	x                []float32 // one batch item, [Cin, Tin]
	tin, k, st, tout int
	off, lo, hi      []int // per kernel tap: input offset and valid output range
}

// newColSource describes the im2col matrix of x for shape s, keeping the
// per-tap tables in buf.
func newColSource(s ConvShape, x []float32, buf *[]int) colSource {
	if cap(*buf) < 3*s.K {
		*buf = make([]int, 3*s.K)
	}
	tab := (*buf)[:3*s.K]
	v := colSource{x: x, tin: s.Tin, k: s.K, st: s.stride(), tout: s.Tout(),
		off: tab[:s.K], lo: tab[s.K : 2*s.K], hi: tab[2*s.K:]}
	for kk := range v.off {
		v.off[kk] = kk*s.dilation() - s.PadLeft
		v.lo[kk], v.hi[kk] = validRange(v.off[kk], v.st, v.tin, v.tout)
	}
	return v
}

// at is cols[r, t].
func (v *colSource) at(r, t int) float32 {
	c, kk := r/v.k, r%v.k
	if t < v.lo[kk] || t >= v.hi[kk] {
		return 0
	}
	return v.x[c*v.tin+t*v.st+v.off[kk]]
}

// packRows packs cols[r0:r0+kb, t0:t0+cols] as one kb x nr panel (the
// forward GEMM's B, not transposed), zero past cols.
func (v *colSource) packRows(d []float32, r0, kb, t0, cols int) {
	c, kk := r0/v.k, r0%v.k
	for p := 0; p < kb; p++ {
		dp := d[p*nr : p*nr+nr]
		lo, hi := v.lo[kk], v.hi[kk]
		switch {
		case cols == nr && t0 >= lo && t0+nr <= hi && v.st == 1:
			*(*[nr]float32)(dp) = *(*[nr]float32)(v.x[c*v.tin+t0+v.off[kk]:])
		case t0 >= lo && t0+cols <= hi:
			src := v.x[c*v.tin+t0*v.st+v.off[kk]:]
			st := v.st
			for j := range dp[:cols] {
				dp[j] = src[j*st]
			}
			clear(dp[cols:])
		default:
			for j := range dp {
				dp[j] = 0
				if t := t0 + j; j < cols && t >= lo && t < hi {
					dp[j] = v.x[c*v.tin+t*v.st+v.off[kk]]
				}
			}
		}
		if kk++; kk == v.k {
			kk = 0
			c++
		}
	}
}

// packCols packs cols^T[t0:t0+kb, r0:r0+cols] as one kb x nr panel (the
// weight gradient's B = cols transposed), zero past cols.
func (v *colSource) packCols(d []float32, t0, kb, r0, cols int) {
	if cols < nr {
		clear(d[:kb*nr])
		for j := 0; j < cols; j++ {
			for p := 0; p < kb; p++ {
				d[p*nr+j] = v.at(r0+j, t0+p)
			}
		}
		return
	}
	for h := 0; h < nr; h += 8 {
		// The t range where all 8 rows read inside the input.
		var base [8]int
		ta, tb := t0, t0+kb
		for j := range base {
			r := r0 + h + j
			kk := r % v.k
			base[j] = (r/v.k)*v.tin + v.off[kk]
			ta, tb = max(ta, v.lo[kk]), min(tb, v.hi[kk])
		}
		tb = max(ta, tb)
		for t := t0; t < ta; t++ {
			for j := 0; j < 8; j++ {
				d[(t-t0)*nr+h+j] = v.at(r0+h+j, t)
			}
		}
		if n := tb - ta; n > 0 {
			st := v.st
			s0 := v.x[base[0]+ta*st:][:(n-1)*st+1]
			s1 := v.x[base[1]+ta*st:][:(n-1)*st+1]
			s2 := v.x[base[2]+ta*st:][:(n-1)*st+1]
			s3 := v.x[base[3]+ta*st:][:(n-1)*st+1]
			s4 := v.x[base[4]+ta*st:][:(n-1)*st+1]
			s5 := v.x[base[5]+ta*st:][:(n-1)*st+1]
			s6 := v.x[base[6]+ta*st:][:(n-1)*st+1]
			s7 := v.x[base[7]+ta*st:][:(n-1)*st+1]
			dd := d[(ta-t0)*nr+h:]
			for u := 0; u < n; u++ {
				i := u * st
				dp := (*[8]float32)(dd[u*nr:])
				dp[0], dp[1], dp[2], dp[3] = s0[i], s1[i], s2[i], s3[i]
				dp[4], dp[5], dp[6], dp[7] = s4[i], s5[i], s6[i], s7[i]
			}
		}
		for t := tb; t < t0+kb; t++ {
			for j := 0; j < 8; j++ {
				d[(t-t0)*nr+h+j] = v.at(r0+h+j, t)
			}
		}
	}
}

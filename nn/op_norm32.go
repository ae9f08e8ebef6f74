package nn

import (
	"math"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

// The float32 paths of the fused norms. The generic kernels of op_norm.go
// (kept for float64 graphs) convert every element to float64, which costs
// more than the arithmetic; these work in float32 on whole rows of T
// frames, with float64 only where long sums would lose precision (sums
// over time are taken in float32 over short blocks, then added up in
// float64), and they spread samples or frames over the cores.

// sumBlock is the length of the float32 partial sums of sum32 and dot32.
const sumBlock = 128

// sum32 returns the sum of x: float32 partial sums of sumBlock values
// (four interleaved accumulators), added up in float64.
func sum32(x []float32) float64 {
	var total float64
	for len(x) > 0 {
		n := min(len(x), sumBlock)
		b := x[:n]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= n; i += 4 {
			s0 += b[i]
			s1 += b[i+1]
			s2 += b[i+2]
			s3 += b[i+3]
		}
		for ; i < n; i++ {
			s0 += b[i]
		}
		total += float64((s0 + s1) + (s2 + s3))
		x = x[n:]
	}
	return total
}

// dot32 returns the sum of a[i]*b[i] like sum32.
func dot32(a, b []float32) float64 {
	b = b[:len(a)]
	var total float64
	for len(a) > 0 {
		n := min(len(a), sumBlock)
		x, y := a[:n], b[:n]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= n; i += 4 {
			s0 += x[i] * y[i]
			s1 += x[i+1] * y[i+1]
			s2 += x[i+2] * y[i+2]
			s3 += x[i+3] * y[i+3]
		}
		for ; i < n; i++ {
			s0 += x[i] * y[i]
		}
		total += float64((s0 + s1) + (s2 + s3))
		a, b = a[n:], b[n:]
	}
	return total
}

// devSq32 returns the sum of (x[i]-m)^2 like sum32.
func devSq32(x []float32, m float32) float64 {
	var total float64
	for len(x) > 0 {
		n := min(len(x), sumBlock)
		b := x[:n]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= n; i += 4 {
			d0, d1, d2, d3 := b[i]-m, b[i+1]-m, b[i+2]-m, b[i+3]-m
			s0 += d0 * d0
			s1 += d1 * d1
			s2 += d2 * d2
			s3 += d3 * d3
		}
		for ; i < n; i++ {
			d := b[i] - m
			s0 += d * d
		}
		total += float64((s0 + s1) + (s2 + s3))
		x = x[n:]
	}
	return total
}

// frameRanges calls fn(b, t0, t1) for the frames [lo, hi) of the flattened
// B x T frame index, one call per sample.
func frameRanges(lo, hi, T int, fn func(b, t0, t1 int)) {
	for f := lo; f < hi; {
		b, t0 := f/T, f%T
		t1 := min(T, t0+hi-f)
		fn(b, t0, t1)
		f += t1 - t0
	}
}

// stats32 returns the float32 statistics of the op, sized for n.
func (k *normOp) stats32(n int) (mean, rstd []float32) {
	if len(k.mean32) != n {
		k.mean32, k.rstd32 = make([]float32, n), make([]float32, n)
	}
	return k.mean32, k.rstd32
}

func normForward32(k *normOp, y, x, gamma, beta []float32, B, C, T int) {
	mean, rstd := k.stats32(k.stats(B, T))
	if k.perFrame {
		parallelUnits(B*T, B*C*T, func(lo, hi int) {
			frameRanges(lo, hi, T, func(b, t0, t1 int) {
				layerNormForward32(y, x, gamma, beta, mean[b*T:(b+1)*T], rstd[b*T:(b+1)*T], b, C, T, t0, t1, float32(k.eps))
			})
		})
		return
	}
	cg := C / k.groups
	n := cg * T
	parallelUnits(B*k.groups, B*C*T, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			xs, ys := x[s*n:(s+1)*n], y[s*n:(s+1)*n]
			m := sum32(xs) / float64(n)
			v := devSq32(xs, float32(m)) / float64(n)
			r := 1 / math.Sqrt(v+k.eps)
			mean[s], rstd[s] = float32(m), float32(r)
			c0 := (s % k.groups) * cg
			for j := 0; j < cg; j++ {
				gc := float64(gamma[c0+j])
				a, off := float32(r*gc), float32(float64(beta[c0+j])-m*r*gc)
				xc, yc := xs[j*T:(j+1)*T], ys[j*T:(j+1)*T]
				for t, e := range xc {
					yc[t] = e*a + off
				}
			}
		}
	})
}

// layerNormForward32 normalises frames [t0, t1) of sample b over the C
// channels; m and r are the sample's statistics.
func layerNormForward32(y, x, gamma, beta, m, r []float32, b, C, T, t0, t1 int, eps float32) {
	m, r = m[t0:t1], r[t0:t1]
	clear(m)
	clear(r)
	row := func(c int) []float32 { return x[(b*C+c)*T+t0 : (b*C+c)*T+t1] }
	for c := 0; c < C; c++ {
		kernels.AddTo(m, row(c))
	}
	inv := 1 / float32(C)
	for t := range m {
		m[t] *= inv
	}
	for c := 0; c < C; c++ {
		kernels.AddSquaredDiff(r, row(c), m)
	}
	for t, v := range r {
		r[t] = float32(1 / math.Sqrt(float64(v*inv+eps)))
	}
	for c := 0; c < C; c++ {
		kernels.NormAffine(y[(b*C+c)*T+t0:(b*C+c)*T+t1], row(c), m, r, gamma[c], beta[c])
	}
}

// normGrad32 is normGrad for float32; scratch holds the per-statistic sums.
func normGrad32(k *normOp, scratch *[]float32, dx, x, gamma, dy []float32, B, C, T int) {
	mean, rstd := k.mean32, k.rstd32
	if k.perFrame {
		if len(*scratch) != 2*B*T {
			*scratch = make([]float32, 2*B*T)
		}
		m1, m2 := (*scratch)[:B*T], (*scratch)[B*T:]
		parallelUnits(B*T, B*C*T, func(lo, hi int) {
			frameRanges(lo, hi, T, func(b, t0, t1 int) {
				o := b * T
				layerNormGrad32(dx, x, gamma, dy, mean[o+t0:o+t1], rstd[o+t0:o+t1], m1[o+t0:o+t1], m2[o+t0:o+t1], b, C, T, t0, t1)
			})
		})
		return
	}
	cg := C / k.groups
	n := cg * T
	parallelUnits(B*k.groups, B*C*T, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			xs, dys, dxs := x[s*n:(s+1)*n], dy[s*n:(s+1)*n], dx[s*n:(s+1)*n]
			m, r := float64(mean[s]), float64(rstd[s])
			c0 := (s % k.groups) * cg
			// m1 = mean of dxh = dy*gamma; m2 = mean of dxh*xh.
			var m1, m2 float64
			for j := 0; j < cg; j++ {
				gc := float64(gamma[c0+j])
				xc, dyc := xs[j*T:(j+1)*T], dys[j*T:(j+1)*T]
				sd := sum32(dyc)
				m1 += gc * sd
				m2 += gc * r * (dot32(dyc, xc) - m*sd)
			}
			m1 /= float64(n)
			m2 /= float64(n)
			// dx = r*(dy*gc - m1 - (x-m)*r*m2) = dy*(r*gc) + x*(-r*r*m2) + (r*(m*r*m2 - m1))
			ax := float32(-r * r * m2)
			off := float32(r * (m*r*m2 - m1))
			for j := 0; j < cg; j++ {
				ad := float32(r * float64(gamma[c0+j]))
				xc, dyc, dxc := xs[j*T:(j+1)*T], dys[j*T:(j+1)*T], dxs[j*T:(j+1)*T]
				for t, d := range dyc {
					dxc[t] = d*ad + xc[t]*ax + off
				}
			}
		}
	})
}

// layerNormGrad32 is the input gradient of frames [t0, t1) of sample b;
// m, r are their statistics and m1, m2 scratch of the same length.
func layerNormGrad32(dx, x, gamma, dy, m, r, m1, m2 []float32, b, C, T, t0, t1 int) {
	clear(m1)
	clear(m2)
	for c := 0; c < C; c++ {
		o := (b*C+c)*T + t0
		xs, dys := x[o:o+len(m)], dy[o:o+len(m)]
		gc := gamma[c]
		for t, v := range dys {
			d := v * gc
			m1[t] += d
			m2[t] += d * (xs[t] - m[t])
		}
	}
	inv := 1 / float32(C)
	for t := range m1 {
		m1[t] *= inv
		m2[t] *= inv * r[t] // mean of dxh*xh, xh = (x-m)*r
	}
	for c := 0; c < C; c++ {
		o := (b*C+c)*T + t0
		xs, dys, dxs := x[o:o+len(m)], dy[o:o+len(m)], dx[o:o+len(m)]
		gc := gamma[c]
		for t, v := range dys {
			xh := (xs[t] - m[t]) * r[t]
			dxs[t] = r[t] * (v*gc - m1[t] - xh*m2[t])
		}
	}
}

// normGamma32 is normGamma for float32: dgamma[c] = sum of dy*xh.
func normGamma32(k *normOp, dg, x, dy []float32, B, C, T int) {
	mean, rstd := k.mean32, k.rstd32
	parallelUnits(C, B*C*T, func(lo, hi int) {
		var tmp []float32
		if k.perFrame {
			tmp = make([]float32, T)
		}
		for c := lo; c < hi; c++ {
			var acc float64
			for b := 0; b < B; b++ {
				o := (b*C + c) * T
				xs, dys := x[o:o+T], dy[o:o+T]
				if k.perFrame {
					m, r := mean[b*T:(b+1)*T], rstd[b*T:(b+1)*T]
					for t, v := range xs {
						tmp[t] = (v - m[t]) * r[t]
					}
					acc += dot32(dys, tmp)
					continue
				}
				s := b*k.groups + c/(C/k.groups)
				m, r := float64(mean[s]), float64(rstd[s])
				acc += r * (dot32(dys, xs) - m*sum32(dys))
			}
			dg[c] = float32(acc)
		}
	})
}

package kernels

// Elementwise float32 loops of the normalisations, in AVX2 where the CPU
// has it. Each computes exactly what its Go loop computes, in the same
// order and with the same roundings (no fused multiply-adds), so results
// are bit for bit the same on every machine.

// vecAVX2 reports whether the vector forms run.
var vecAVX2 = hasAVX2FMA()

// AddTo sets dst[i] += src[i] for every i of dst; src must be as long.
func AddTo(dst, src []float32) {
	src = src[:len(dst)]
	if vecAVX2 && len(dst) >= 8 {
		addToAVX2(&dst[0], &src[0], len(dst))
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}

// AddSquaredDiff sets dst[i] += (x[i] - m[i])² for every i of dst.
func AddSquaredDiff(dst, x, m []float32) {
	x, m = x[:len(dst)], m[:len(dst)]
	if vecAVX2 && len(dst) >= 8 {
		addSquaredDiffAVX2(&dst[0], &x[0], &m[0], len(dst))
		return
	}
	for i, v := range x {
		d := v - m[i]
		dst[i] += d * d
	}
}

// NormAffine sets y[i] = (x[i] - m[i]) * r[i] * g + b for every i of y.
func NormAffine(y, x, m, r []float32, g, b float32) {
	x, m, r = x[:len(y)], m[:len(y)], r[:len(y)]
	if vecAVX2 && len(y) >= 8 {
		normAffineAVX2(&y[0], &x[0], &m[0], &r[0], len(y), g, b)
		return
	}
	for i, v := range x {
		y[i] = (v-m[i])*r[i]*g + b
	}
}

// GELU computes nn's float32 GELU of the leading multiple of 4 of x into y
// with AVX2, from tab, nn's table of cubics, and returns how many it did:
// 0 without AVX2. nn computes the rest, and checks that both give the same
// bits.
func GELU(y, x []float32, tab *[1024][4]float64) int {
	n := len(x) &^ 3
	if !vecAVX2 || n == 0 {
		return 0
	}
	y = y[:n]
	geluAVX2(&y[0], &x[0], n, &tab[0][0])
	return n
}

// GELUGrad is GELU for the gradient: dx = dy * gelu'(x) for the leading
// multiple of 4 of x, from tab, nn's table of the derivative's cubics; it
// returns how many it did (0 without AVX2).
func GELUGrad(dx, x, dy []float32, tab *[1024][4]float64) int {
	n := len(x) &^ 3
	if !vecAVX2 || n == 0 {
		return 0
	}
	dx, dy = dx[:n], dy[:n]
	geluGradAVX2(&dx[0], &x[0], &dy[0], n, &tab[0][0])
	return n
}

// ExpShift sets dst[i] = e^(src[i] - shift), as nn's expNonPositive
// computes it for src[i] - shift <= 0, for the leading multiple of 4 of
// src with AVX2, and returns how many it did (0 without AVX2); nn computes
// the rest.
func ExpShift(dst []float64, src []float32, shift float64) int {
	n := len(src) &^ 3
	if !vecAVX2 || n == 0 {
		return 0
	}
	dst = dst[:n]
	expShiftAVX2(&dst[0], &src[0], n, shift)
	return n
}

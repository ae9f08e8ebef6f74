package nn

import (
	"math"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

// invSqrt2Pi is 1/sqrt(2*pi).
const invSqrt2Pi = 0.3989422804014327

// GELU returns x * Phi(x), Phi the standard normal CDF: the exact (erf)
// form, PyTorch's default.
func (g *Graph) GELU(x *Node) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	return g.apply(&geluOp{}, x.shape, x)
}

// geluOp is y = x * Phi(x).
type geluOp struct{}

func (k *geluOp) name() string { return "gelu" }

func (k *geluOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		parallel(len(out.f32), func(lo, hi int) { gelu32(out.f32[lo:hi], in[0].f32[lo:hi]) })
	} else {
		geluKernel(out.f64, in[0].f64)
	}
}

// The float32 paths evaluate gelu and gelu' as cubic polynomials, one per
// interval of width h = 1/32 centred on the knots x_i = i*h over [-8, 8]:
// the cubic Hermite interpolants of the exact functions (from their values
// and derivatives at the interval's ends, in float64), whose error is below
// 1e-8, instead of calling math.Erf and math.Exp per element (about ten
// times faster; the results stay exact to float32 rounding). The interval
// index comes from rounding with the 2^52 trick, with no integer
// conversions. Outside [-8, 8] gelu is 0 or x (Phi(-8) = 6e-16). Values are
// converted to float64 a block at a time (converting element by element
// inside a loop makes each iteration wait for the last one: the conversion
// instructions write half a register).
const (
	geluHi   = 8.0
	geluLo   = -geluHi
	geluInvH = 32.0
	geluMid  = geluHi * geluInvH // the index of the knot at 0
	round52  = 0x1p52            // adding it rounds a float64 in [0, 2^51) to an integer
)

// geluPoly and geluGradPoly hold, for the interval of knot i - geluMid, the
// coefficients c0..c3 of the cubic in f = x*geluInvH - (i - geluMid),
// f in [-1/2, 1/2]. The tables are sized 1024 so that the index masked
// with 1023 needs no bounds check; entries past 2*geluMid are unused.
var geluPoly, geluGradPoly = geluTables()

func geluTables() (val, grad *[1024][4]float64) {
	val, grad = new([1024][4]float64), new([1024][4]float64)
	const h = 1 / geluInvH
	Phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	phi := func(x float64) float64 { return invSqrt2Pi * math.Exp(-0.5*x*x) }
	gelu := func(x float64) float64 { return x * Phi(x) }
	d1 := func(x float64) float64 { return Phi(x) + x*phi(x) }
	d2 := func(x float64) float64 { return (2 - x*x) * phi(x) }
	for i := 0; i <= 2*geluMid; i++ {
		a := (float64(i) - geluMid - 0.5) * h
		b := a + h
		val[i] = hermiteCentred(gelu(a), gelu(b), h*d1(a), h*d1(b))
		grad[i] = hermiteCentred(d1(a), d1(b), h*d2(a), h*d2(b))
	}
	return val, grad
}

// hermiteCentred returns the cubic p(f), f in [-1/2, 1/2], with p(-1/2) =
// y0, p(1/2) = y1 and derivatives d0, d1 there (per unit of f).
func hermiteCentred(y0, y1, d0, d1 float64) [4]float64 {
	// In g = f + 1/2 on [0, 1]: p = c0 + c1 g + c2 g^2 + c3 g^3.
	c0, c1 := y0, d0
	c2 := 3*(y1-y0) - 2*d0 - d1
	c3 := 2*(y0-y1) + d0 + d1
	return [4]float64{
		c0 + 0.5*c1 + 0.25*c2 + 0.125*c3,
		c1 + c2 + 0.75*c3,
		c2 + 1.5*c3,
		c3,
	}
}

// geluSmall bounds the inputs whose gelu comes from its Taylor series
// instead of the table: the cubics are exact to 1e-8 absolutely, not
// relatively, so near 0 (where gelu(u) is about u/2) they would give 0 a
// gelu of about 1e-9, and a tiny input a wrong one. Layer norms in their
// epsilon regime (a frame of digital silence) scale such values up 300-fold
// per layer, so that a model's output on silence would follow the error.
const geluSmall = 1.0 / 64

// geluTaylor returns gelu(u) for |u| < geluSmall, exact to float64's
// rounding relative to u: u/2 + (u^2 - u^4/6) / sqrt(2 pi), the next term
// u^6 / (40 sqrt(2 pi)) being below 1e-11 of u/2.
func geluTaylor(u float64) float64 { return u * (0.5 + invSqrt2Pi*u*(1-u*u/6)) }

// geluEval evaluates the table p at u, geluLo < u < geluHi.
func geluEval(p *[1024][4]float64, u float64) float64 {
	s := u*geluInvH + geluMid // in (0, 2*geluMid)
	t := s + round52
	k := &p[math.Float64bits(t)&1023]
	f := s - (t - round52)
	return ((k[3]*f+k[2])*f+k[1])*f + k[0]
}

func gelu32(y, x []float32) {
	done := kernels.GELU(y, x, geluPoly)
	geluScalar32(y[done:], x[done:])
}

// geluScalar32 is gelu32 in Go.
func geluScalar32(y, x []float32) {
	var t [256]float64
	for lo := 0; lo < len(x); lo += len(t) {
		n := min(len(t), len(x)-lo)
		b := t[:n]
		for i, v := range x[lo : lo+n] {
			b[i] = float64(v)
		}
		for i, u := range b {
			switch {
			case u > -geluSmall && u < geluSmall:
				b[i] = geluTaylor(u)
			case u > geluLo && u < geluHi:
				b[i] = geluEval(geluPoly, u)
			case u >= geluHi:
				// b[i] = u: Phi(u) = 1 (and +Inf stays +Inf)
			default:
				b[i] = u * 0 // -0, and NaN for NaN and -Inf as in the exact form
			}
		}
		for i, u := range b {
			y[lo+i] = float32(u)
		}
	}
}

func geluGrad32(dx, x, dy []float32) {
	done := kernels.GELUGrad(dx, x, dy, geluGradPoly)
	geluGradScalar32(dx[done:], x[done:], dy[done:])
}

// geluGradScalar32 is geluGrad32 in Go.
func geluGradScalar32(dx, x, dy []float32) {
	var t [256]float64
	for lo := 0; lo < len(x); lo += len(t) {
		n := min(len(t), len(x)-lo)
		b := t[:n]
		for i, v := range x[lo : lo+n] {
			b[i] = float64(v)
		}
		for i, u := range b {
			switch {
			case u > geluLo && u < geluHi:
				b[i] = geluEval(geluGradPoly, u)
			case u >= geluHi:
				b[i] = 1
			default:
				b[i] = u * 0
			}
		}
		for i, d := range b {
			dx[lo+i] = float32(float64(dy[lo+i]) * d)
		}
	}
}

// geluDeriv is d/dx x*Phi(x) = Phi(x) + x*phi(x).
func geluDeriv(u float64) float64 {
	return 0.5*(1+math.Erf(u*math.Sqrt2/2)) + u*invSqrt2Pi*math.Exp(-0.5*u*u)
}

func geluKernel[F float](y, x []F) {
	y = y[:len(x)]
	for i, v := range x {
		u := float64(v)
		y[i] = F(0.5 * u * (1 + math.Erf(u*math.Sqrt2/2)))
	}
}

func (k *geluOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&geluGradOp{}, in[0].shape, in[0], gout)}
}

// geluGradOp is dx = dy * (Phi(x) + x * phi(x)): inputs x, dy.
type geluGradOp struct{}

func (k *geluGradOp) name() string { return "gelu_grad" }

func (k *geluGradOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		parallel(len(out.f32), func(lo, hi int) { geluGrad32(out.f32[lo:hi], in[0].f32[lo:hi], in[1].f32[lo:hi]) })
	} else {
		geluGradKernel(out.f64, in[0].f64, in[1].f64)
	}
}

func geluGradKernel[F float](dx, x, dy []F) {
	dx = dx[:len(x)]
	dy = dy[:len(x)]
	for i, v := range x {
		dx[i] = F(float64(dy[i]) * geluDeriv(float64(v)))
	}
}

// backward of the gradient (for second derivatives): d/dx = dy*(2 - x^2)*phi(x), d/d(dy) = gelu'(x).
func (k *geluGradOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	if need[0] {
		grads[0] = g.Mul(g.apply(&geluGrad2Op{}, in[0].shape, in[0], in[1]), gout)
	}
	if need[1] {
		grads[1] = g.apply(&geluGradOp{}, in[0].shape, in[0], gout)
	}
	return grads
}

// geluGrad2Op is dy * gelu”(x) = dy * (2 - x^2) * phi(x): inputs x, dy.
// It has no gradient of its own (third derivatives are not supported).
type geluGrad2Op struct{}

func (k *geluGrad2Op) name() string { return "gelu_grad2" }

func (k *geluGrad2Op) forward(out buf, in []buf) {
	if out.f32 != nil {
		geluGrad2Kernel(out.f32, in[0].f32, in[1].f32)
	} else {
		geluGrad2Kernel(out.f64, in[0].f64, in[1].f64)
	}
}

func geluGrad2Kernel[F float](y, x, dy []F) {
	for i, v := range x {
		u := float64(v)
		y[i] = F(float64(dy[i]) * (2 - u*u) * invSqrt2Pi * math.Exp(-0.5*u*u))
	}
}

func (k *geluGrad2Op) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("gelu: third derivatives are not supported")
	return make([]*Node, 2)
}

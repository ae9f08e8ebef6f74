package nn

import "math"

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

// gelu32 and geluGrad32 are the float32 paths: the exact float64 math on
// blocks converted to float64 first. (Converting element by element inside
// the loop made each iteration wait for the last one: the conversion
// instructions write half a register, a false dependency that made GELU
// three times slower.)
func gelu32(y, x []float32) {
	var t [256]float64
	for lo := 0; lo < len(x); lo += len(t) {
		n := min(len(t), len(x)-lo)
		b := t[:n]
		for i, v := range x[lo : lo+n] {
			b[i] = float64(v)
		}
		geluKernel(b, b)
		for i, u := range b {
			y[lo+i] = float32(u)
		}
	}
}

func geluGrad32(dx, x, dy []float32) {
	var t [256]float64
	for lo := 0; lo < len(x); lo += len(t) {
		n := min(len(t), len(x)-lo)
		b := t[:n]
		for i, v := range x[lo : lo+n] {
			b[i] = float64(v)
		}
		for i, u := range b {
			b[i] = geluDeriv(u)
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

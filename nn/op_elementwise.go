package nn

import (
	"fmt"
	"slices"
)

// Add returns a + b (same shapes).
func (g *Graph) Add(a, b *Node) *Node { return g.binary("add", &addOp{sign: 1}, a, b) }

// Sub returns a - b (same shapes).
func (g *Graph) Sub(a, b *Node) *Node { return g.binary("sub", &addOp{sign: -1}, a, b) }

// Mul returns the elementwise product a * b (same shapes).
func (g *Graph) Mul(a, b *Node) *Node { return g.binary("mul", &mulOp{scale: 1}, a, b) }

// Scale returns s * x.
func (g *Graph) Scale(x *Node, s float64) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	return g.apply(&scaleOp{s: s}, x.shape, x)
}

// Square returns x * x elementwise.
func (g *Graph) Square(x *Node) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	return g.apply(&mulOp{scale: 1, square: true}, x.shape, x)
}

// Sum returns the sum of all elements of x, a scalar.
func (g *Graph) Sum(x *Node) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	return g.apply(&sumOp{scale: 1}, nil, x)
}

// Mean returns the mean of all elements of x, a scalar.
func (g *Graph) Mean(x *Node) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	return g.apply(&sumOp{scale: 1 / float64(x.Size())}, nil, x)
}

// AddChannels returns x + v broadcast over every axis but the channel
// axis 1: x is [B, C, ...] and v is [C] (a bias).
func (g *Graph) AddChannels(x, v *Node) *Node {
	if !g.ok(x, v) {
		return &Node{g: g}
	}
	if len(x.shape) < 2 || len(v.shape) != 1 || v.shape[0] != x.shape[1] {
		return g.failf("add channels: shapes %v and %v: want [B, C, ...] and [C]", x.shape, v.shape)
	}
	return g.apply(&addChannelsOp{}, x.shape, x, v)
}

func (g *Graph) binary(what string, k kernel, a, b *Node) *Node {
	if !g.ok(a, b) {
		return &Node{g: g}
	}
	if !sameShape(a.shape, b.shape) {
		return g.fail(fmt.Errorf("nn: %s: shapes %v and %v differ", what, a.shape, b.shape))
	}
	return g.apply(k, a.shape, a, b)
}

// addOp is a + sign*b.
type addOp struct{ sign float64 }

func (k *addOp) name() string { return fmt.Sprintf("add(%g)", k.sign) }

func (k *addOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		addKernel(out.f32, in[0].f32, in[1].f32, float32(k.sign))
	} else {
		addKernel(out.f64, in[0].f64, in[1].f64, k.sign)
	}
}

func addKernel[F float](y, a, b []F, s F) {
	b = b[:len(a)]
	y = y[:len(a)]
	for i := range a {
		y[i] = a[i] + s*b[i]
	}
}

func (k *addOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	gb := gout
	if need[1] && k.sign != 1 {
		gb = g.Scale(gout, k.sign)
	}
	return []*Node{gout, gb}
}

// mulOp is scale*a*b, or scale*a*a when square is set (one input).
type mulOp struct {
	scale  float64
	square bool
}

func (k *mulOp) name() string { return fmt.Sprintf("mul(%g,square=%t)", k.scale, k.square) }

func (k *mulOp) forward(out buf, in []buf) {
	b := in[0]
	if !k.square {
		b = in[1]
	}
	if out.f32 != nil {
		mulKernel(out.f32, in[0].f32, b.f32, float32(k.scale))
	} else {
		mulKernel(out.f64, in[0].f64, b.f64, k.scale)
	}
}

func mulKernel[F float](y, a, b []F, s F) {
	b = b[:len(a)]
	y = y[:len(a)]
	for i := range a {
		y[i] = s * a[i] * b[i]
	}
}

func (k *mulOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	if k.square {
		return []*Node{g.apply(&mulOp{scale: 2 * k.scale}, gout.shape, gout, in[0])}
	}
	grads := make([]*Node, 2)
	if need[0] {
		grads[0] = g.apply(&mulOp{scale: k.scale}, gout.shape, gout, in[1])
	}
	if need[1] {
		grads[1] = g.apply(&mulOp{scale: k.scale}, gout.shape, gout, in[0])
	}
	return grads
}

// scaleOp is s*x.
type scaleOp struct{ s float64 }

func (k *scaleOp) name() string { return fmt.Sprintf("scale(%g)", k.s) }

func (k *scaleOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		scaleKernel(out.f32, in[0].f32, float32(k.s))
	} else {
		scaleKernel(out.f64, in[0].f64, k.s)
	}
}

func scaleKernel[F float](y, x []F, s F) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = s * v
	}
}

func (k *scaleOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.Scale(gout, k.s)}
}

// sumOp is scale * the sum of all elements, a scalar.
type sumOp struct{ scale float64 }

func (k *sumOp) name() string { return fmt.Sprintf("sum(%g)", k.scale) }

func (k *sumOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		out.f32[0] = float32(k.scale * sumKernel(in[0].f32))
	} else {
		out.f64[0] = k.scale * sumKernel(in[0].f64)
	}
}

// sumKernel sums in float64 (four partial sums, for speed and accuracy).
func sumKernel[F float](x []F) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func (k *sumOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&fillOp{scale: k.scale}, in[0].shape, gout)}
}

// fillOp broadcasts scale times a scalar to its output shape.
type fillOp struct{ scale float64 }

func (k *fillOp) name() string { return fmt.Sprintf("fill(%g)", k.scale) }

func (k *fillOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		v := float32(k.scale * float64(in[0].f32[0]))
		for i := range out.f32 {
			out.f32[i] = v
		}
	} else {
		v := k.scale * in[0].f64[0]
		for i := range out.f64 {
			out.f64[i] = v
		}
	}
}

func (k *fillOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&sumOp{scale: k.scale}, nil, gout)}
}

// addChannelsOp is x [B, C, rest] + v [C].
type addChannelsOp struct{}

func (k *addChannelsOp) name() string { return "add_channels" }

func (k *addChannelsOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		addChannelsKernel(out.f32, in[0].f32, in[1].f32, B, C, T)
	} else {
		addChannelsKernel(out.f64, in[0].f64, in[1].f64, B, C, T)
	}
}

// channelDims views a [B, C, ...] shape as [B, C, T].
func channelDims(s []int) (B, C, T int) {
	return s[0], s[1], shapeSize(s[2:])
}

func addChannelsKernel[F float](y, x, v []F, B, C, T int) {
	for b := 0; b < B; b++ {
		for c := 0; c < C; c++ {
			o := (b*C + c) * T
			vc := v[c]
			xs, ys := x[o:o+T], y[o:o+T]
			for t := range xs {
				ys[t] = xs[t] + vc
			}
		}
	}
}

func (k *addChannelsOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := []*Node{gout, nil}
	if need[1] {
		grads[1] = g.apply(&sumChannelsOp{}, in[1].shape, gout)
	}
	return grads
}

// sumChannelsOp sums x [B, C, rest] over every axis but 1, giving [C].
type sumChannelsOp struct{}

func (k *sumChannelsOp) name() string { return "sum_channels" }

func (k *sumChannelsOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		sumChannelsKernel(out.f32, in[0].f32, B, C, T)
	} else {
		sumChannelsKernel(out.f64, in[0].f64, B, C, T)
	}
}

func sumChannelsKernel[F float](y, x []F, B, C, T int) {
	for c := 0; c < C; c++ {
		var s float64
		for b := 0; b < B; b++ {
			o := (b*C + c) * T
			s += sumKernel(x[o : o+T])
		}
		y[c] = F(s)
	}
}

func (k *sumChannelsOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&broadcastChannelsOp{}, in[0].shape, gout)}
}

// broadcastChannelsOp copies v [C] to every position of a [B, C, rest] output.
type broadcastChannelsOp struct{}

func (k *broadcastChannelsOp) name() string { return "broadcast_channels" }

func (k *broadcastChannelsOp) forward(out buf, in []buf) {
	B, C, T := channelDims(out.shape)
	if out.f32 != nil {
		clear(out.f32)
		addChannelsKernel(out.f32, out.f32, in[0].f32, B, C, T)
	} else {
		clear(out.f64)
		addChannelsKernel(out.f64, out.f64, in[0].f64, B, C, T)
	}
}

func (k *broadcastChannelsOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&sumChannelsOp{}, in[0].shape, gout)}
}

// Reshape returns x with a new shape of the same size (a copy in row-major
// order).
func (g *Graph) Reshape(x *Node, shape ...int) *Node {
	if !g.ok(x) {
		return &Node{g: g}
	}
	if len(shape) == 0 || slices.Min(shape) <= 0 || shapeSize(shape) != x.Size() {
		return g.failf("reshape: %v to %v", x.shape, shape)
	}
	return g.apply(&reshapeOp{}, shape, x)
}

// reshapeOp copies its input under another shape.
type reshapeOp struct{}

func (k *reshapeOp) name() string { return "reshape" }

func (k *reshapeOp) forward(out buf, in []buf) {
	if out.f32 != nil {
		copy(out.f32, in[0].f32)
	} else {
		copy(out.f64, in[0].f64)
	}
}

func (k *reshapeOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	return []*Node{g.apply(&reshapeOp{}, in[0].shape, gout)}
}

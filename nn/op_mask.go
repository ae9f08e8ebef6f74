package nn

import "fmt"

// Frame masks are [B, 1, T] tensors, one value per frame, broadcast over
// the channels of a [B, C, T] tensor: a validity mask (1 = real frame,
// 0 = padding) or a span mask (1 = masked frame).

// MulFrames returns x [B, C, T] times m [B, 1, T] broadcast over the
// channels: with a validity mask it zeroes the padding frames.
func (g *Graph) MulFrames(x, m *Node) *Node {
	if !g.ok(x, m) {
		return &Node{g: g}
	}
	if err := checkFrameMask("mul frames", x, m); err != nil {
		return g.fail(err)
	}
	return g.apply(&frameScaleOp{}, x.shape, x, m)
}

// MaskFrames returns x*(1-m) + m*vec: the frames of x [B, C, T] where the
// mask m [B, 1, T] is 1 become vec [C] (a learned mask embedding); frames
// where it is 0 are kept. Values between 0 and 1 interpolate.
func (g *Graph) MaskFrames(x, m, vec *Node) *Node {
	if !g.ok(x, m, vec) {
		return &Node{g: g}
	}
	if err := checkFrameMask("mask frames", x, m); err != nil {
		return g.fail(err)
	}
	if len(vec.shape) != 1 || vec.shape[0] != x.shape[1] {
		return g.failf("mask frames: vector %v for input %v: want [C]", vec.shape, x.shape)
	}
	return g.apply(&maskFramesOp{}, x.shape, x, m, vec)
}

func checkFrameMask(what string, x, m *Node) error {
	if len(x.shape) != 3 || len(m.shape) != 3 || m.shape[0] != x.shape[0] || m.shape[1] != 1 || m.shape[2] != x.shape[2] {
		return fmt.Errorf("nn: %s: input %v and mask %v: want [B, C, T] and [B, 1, T]", what, x.shape, m.shape)
	}
	return nil
}

// frameScaleOp is y = x*m, or x*(1-m) with complement: inputs x [B, C, T]
// and m [B, 1, T].
type frameScaleOp struct{ complement bool }

func (k *frameScaleOp) name() string { return fmt.Sprintf("frame_scale(complement=%t)", k.complement) }

func (k *frameScaleOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		frameScaleKernel(out.f32, in[0].f32, in[1].f32, B, C, T, k.complement)
	} else {
		frameScaleKernel(out.f64, in[0].f64, in[1].f64, B, C, T, k.complement)
	}
}

func frameScaleKernel[F float](y, x, m []F, B, C, T int, complement bool) {
	for b := 0; b < B; b++ {
		mb := m[b*T : (b+1)*T]
		if keepsAll(mb, complement) {
			// Every frame is kept whole (an utterance without padding, as
			// in transcription): x*1 is x.
			copy(y[b*C*T:(b+1)*C*T], x[b*C*T:(b+1)*C*T])
			continue
		}
		for c := 0; c < C; c++ {
			o := (b*C + c) * T
			xs, ys := x[o:o+T], y[o:o+T]
			for t, v := range xs {
				if complement {
					ys[t] = v * (1 - mb[t])
				} else {
					ys[t] = v * mb[t]
				}
			}
		}
	}
}

// keepsAll reports whether the factor of every frame is exactly 1: m is all
// ones, or all zeros with complement.
func keepsAll[F float](m []F, complement bool) bool {
	want := F(1)
	if complement {
		want = 0
	}
	for _, v := range m {
		if v != want {
			return false
		}
	}
	return true
}

func (k *frameScaleOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 2)
	if need[0] {
		grads[0] = g.apply(&frameScaleOp{complement: k.complement}, in[0].shape, gout, in[1])
	}
	if need[1] { // d/dm sum(gout * x * m) = sum over channels of gout*x
		sign := 1.0
		if k.complement {
			sign = -1
		}
		grads[1] = g.apply(&channelDotOp{sign: sign}, in[1].shape, gout, in[0])
	}
	return grads
}

// channelDotOp is y[b, 0, t] = sign * sum over c of a*(v[c] - x) with a
// vector v, or of a*x without one: inputs a, x [B, C, T] and optionally
// v [C]. It is the mask gradient of the frame ops.
type channelDotOp struct{ sign float64 }

func (k *channelDotOp) name() string { return fmt.Sprintf("channel_dot(%g)", k.sign) }

func (k *channelDotOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		var v []float32
		if len(in) > 2 {
			v = in[2].f32
		}
		channelDotKernel(out.f32, in[0].f32, in[1].f32, v, B, C, T, k.sign)
	} else {
		var v []float64
		if len(in) > 2 {
			v = in[2].f64
		}
		channelDotKernel(out.f64, in[0].f64, in[1].f64, v, B, C, T, k.sign)
	}
}

func channelDotKernel[F float](y, a, x, v []F, B, C, T int, sign float64) {
	acc := make([]float64, T)
	for b := 0; b < B; b++ {
		clear(acc)
		for c := 0; c < C; c++ {
			o := (b*C + c) * T
			as, xs := a[o:o+T], x[o:o+T]
			if v != nil {
				vc := float64(v[c])
				for t := range acc {
					acc[t] += float64(as[t]) * (vc - float64(xs[t]))
				}
			} else {
				for t := range acc {
					acc[t] += float64(as[t]) * float64(xs[t])
				}
			}
		}
		for t, s := range acc {
			y[b*T+t] = F(sign * s)
		}
	}
}

func (k *channelDotOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	g.failf("%s: second derivatives are not supported", k.name())
	return make([]*Node, len(in))
}

// args lists the op's inputs, v being optional.
func (k *channelDotOp) args(a, x, v *Node) []*Node {
	if v == nil {
		return []*Node{a, x}
	}
	return []*Node{a, x, v}
}

// maskFramesOp is y = x + m*(v - x): inputs x [B, C, T], m [B, 1, T],
// v [C].
type maskFramesOp struct{}

func (k *maskFramesOp) name() string { return "mask_frames" }

func (k *maskFramesOp) forward(out buf, in []buf) {
	B, C, T := channelDims(in[0].shape)
	if out.f32 != nil {
		maskFramesKernel(out.f32, in[0].f32, in[1].f32, in[2].f32, B, C, T)
	} else {
		maskFramesKernel(out.f64, in[0].f64, in[1].f64, in[2].f64, B, C, T)
	}
}

func maskFramesKernel[F float](y, x, m, v []F, B, C, T int) {
	for b := 0; b < B; b++ {
		mb := m[b*T : (b+1)*T]
		for c := 0; c < C; c++ {
			o := (b*C + c) * T
			xs, ys, vc := x[o:o+T], y[o:o+T], v[c]
			for t, e := range xs {
				ys[t] = e + mb[t]*(vc-e)
			}
		}
	}
}

func (k *maskFramesOp) backward(g *Graph, in []*Node, out, gout *Node, need []bool) []*Node {
	grads := make([]*Node, 3)
	if need[0] {
		grads[0] = g.apply(&frameScaleOp{complement: true}, in[0].shape, gout, in[1])
	}
	if need[1] {
		dot := &channelDotOp{sign: 1}
		grads[1] = g.apply(dot, in[1].shape, dot.args(gout, in[0], in[2])...)
	}
	if need[2] { // sum over samples and frames of gout*m
		grads[2] = g.apply(&sumChannelsOp{}, in[2].shape, g.apply(&frameScaleOp{}, gout.shape, gout, in[1]))
	}
	return grads
}

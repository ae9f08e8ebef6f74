package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteAttention is the attention of one sample in float64, written out.
func bruteAttention(q, k, v, mask []float64, D, T, heads int) []float64 {
	dh := D / heads
	out := make([]float64, D*T)
	for h := range heads {
		for t := range T {
			w := make([]float64, T)
			mx := math.Inf(-1)
			for s := range T {
				if mask != nil && mask[s] == 0 {
					continue
				}
				var dot float64
				for j := range dh {
					dot += q[(h*dh+j)*T+t] * k[(h*dh+j)*T+s]
				}
				w[s] = dot / math.Sqrt(float64(dh))
				mx = max(mx, w[s])
			}
			var sum float64
			for s := range T {
				if mask != nil && mask[s] == 0 {
					w[s] = 0
					continue
				}
				w[s] = math.Exp(w[s] - mx)
				sum += w[s]
			}
			for j := range dh {
				var o float64
				for s := range T {
					if sum > 0 {
						o += w[s] / sum * v[(h*dh+j)*T+s]
					}
				}
				out[(h*dh+j)*T+t] = o
			}
		}
	}
	return out
}

// TestAttention: the float32 op equals the written-out attention, padded
// keys take no weight (a sample's padded frames change none of its real
// frames' outputs), and a query with no key gets 0.
func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const B, D, T, heads = 2, 8, 7, 2
	data := func() []float32 {
		x := make([]float32, B*D*T)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	q, k, v := data(), data(), data()
	mask := make([]float32, B*T)
	for s := range T {
		mask[s] = 1 // sample 0: all frames
	}
	for s := range 4 {
		mask[T+s] = 1 // sample 1: 4 real frames, 3 padded
	}
	g := NewGraph()
	qn, kn, vn, mn := g.Input("q", B, D, T), g.Input("k", B, D, T), g.Input("v", B, D, T), g.Input("m", B, 1, T)
	out := g.Attention(qn, kn, vn, mn, heads)
	prog, err := g.Compile(nil, out)
	if err != nil {
		t.Fatal(err)
	}
	prog.Set(qn, q)
	prog.Set(kn, k)
	prog.Set(vn, v)
	prog.Set(mn, mask)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	got := prog.Value(out)
	f64 := func(x []float32) []float64 {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = float64(v)
		}
		return y
	}
	for b := range B {
		o := b * D * T
		want := bruteAttention(f64(q[o:o+D*T]), f64(k[o:o+D*T]), f64(v[o:o+D*T]), f64(mask[b*T:(b+1)*T]), D, T, heads)
		for i, w := range want {
			if d := math.Abs(float64(got[o+i]) - w); d > 1e-5 {
				t.Fatalf("sample %d value %d: %g, want %g", b, i, got[o+i], w)
			}
		}
	}
	// Changing sample 1's padded frames changes none of its real outputs.
	before := append([]float32(nil), got...)
	for j := range D {
		for s := 4; s < T; s++ {
			k[(D+j)*T+s], v[(D+j)*T+s] = 100, -100
		}
	}
	prog.Set(kn, k)
	prog.Set(vn, v)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	got = prog.Value(out)
	for j := range D {
		for t0 := range 4 {
			if i := (D+j)*T + t0; got[i] != before[i] {
				t.Fatalf("padded keys changed output %d: %g, was %g", i, got[i], before[i])
			}
		}
	}
	// No key at all: zeros.
	clear(mask)
	prog.Set(mn, mask)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	for i, x := range prog.Value(out) {
		if x != 0 {
			t.Fatalf("output %d is %g with every key masked", i, x)
		}
	}
}

func TestAttentionGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const B, D, T, heads = 2, 6, 5, 3
	q, k, v := randParam(rng, "q", B, D, T), randParam(rng, "k", B, D, T), randParam(rng, "v", B, D, T)
	t.Run("unmasked", func(t *testing.T) {
		checkGrad(t, func(g *Graph) *Node { return g.Attention(g.Param(q), g.Param(k), g.Param(v), nil, heads) }, q, k, v)
	})
	t.Run("masked", func(t *testing.T) {
		checkGrad(t, func(g *Graph) *Node {
			// The mask is a frozen param: sample 1 has 3 real frames.
			mp := NewParam("mask", B, 1, T)
			mp.Frozen = true
			for s := range T {
				mp.Data[s] = 1
			}
			for s := range 3 {
				mp.Data[T+s] = 1
			}
			return g.Attention(g.Param(q), g.Param(k), g.Param(v), g.Param(mp), heads)
		}, q, k, v)
	})
}

func TestWeightNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	v := randParam(rng, "v", 4, 3, 5)
	gain := randParam(rng, "g", 1, 1, 5)
	checkGrad(t, func(g *Graph) *Node { return g.WeightNorm(g.Param(v), g.Param(gain)) }, v, gain)
	// Through a grouped convolution, as the positional convolution uses it.
	x := randParam(rng, "x", 2, 6, 9)
	wv := randParam(rng, "wv", 6, 3, 4)
	wg := randParam(rng, "wg", 1, 1, 4)
	checkGrad(t, func(g *Graph) *Node {
		w := g.WeightNorm(g.Param(wv), g.Param(wg))
		return g.GELU(g.Conv1d(g.Param(x), w, nil, ConvOpts{Groups: 2, PadLeft: 2, PadRight: 1}))
	}, x, wv, wg)
	// Each kernel position's slice has norm |gain|.
	g := NewGraph()
	w := g.WeightNorm(g.Param(v), g.Param(gain))
	prog, err := g.Compile(nil, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	out := prog.Value(w)
	for kk := range 5 {
		var n float64
		for i := kk; i < len(out); i += 5 {
			n += float64(out[i]) * float64(out[i])
		}
		if d := math.Abs(math.Sqrt(n) - math.Abs(float64(gain.Data[kk]))); d > 1e-5 {
			t.Errorf("k=%d: norm %g, gain %g", kk, math.Sqrt(n), gain.Data[kk])
		}
	}
}

// TestTransformerLayerGrad checks the gradient of a whole transformer
// layer as wav2vec 2.0 builds it (encoder.Transformer), post-LN and pre-LN:
// q, k, v and output projections, masked attention, residual sums, layer
// norms and the GELU feed-forward, through a weight-normed grouped
// positional convolution, with respect to the input and every weight.
func TestTransformerLayerGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	const B, D, T, F, heads = 2, 4, 5, 6, 2
	x := randParam(rng, "x", B, D, T)
	lin := func(name string, in, out int) (*Param, *Param) {
		return randParam(rng, name+".w", out, in, 1), randParam(rng, name+".b", out)
	}
	qw, qb := lin("q", D, D)
	kw, kb := lin("k", D, D)
	vw, vb := lin("v", D, D)
	ow, ob := lin("o", D, D)
	f1w, f1b := lin("f1", D, F)
	f2w, f2b := lin("f2", F, D)
	g1, b1 := randParam(rng, "ln1.g", D), randParam(rng, "ln1.b", D)
	g2, b2 := randParam(rng, "ln2.g", D), randParam(rng, "ln2.b", D)
	pv, pg, pb := randParam(rng, "pos.v", D, D/2, 4), randParam(rng, "pos.g", 1, 1, 4), randParam(rng, "pos.b", D)
	mask := NewParam("mask", B, 1, T)
	mask.Frozen = true
	for i := range mask.Data {
		if i < T+3 { // sample 1 has 3 real frames
			mask.Data[i] = 1
		}
	}
	params := []*Param{x, qw, qb, kw, kb, vw, vb, ow, ob, f1w, f1b, f2w, f2b, g1, b1, g2, b2, pv, pg, pb}
	for _, preLN := range []bool{false, true} {
		checkGrad(t, func(g *Graph) *Node {
			p := func(w *Param) *Node { return g.Param(w) }
			conv := func(h *Node, w, b *Param) *Node { return g.Conv1d(h, p(w), p(b), ConvOpts{}) }
			m := p(mask)
			h := g.MulFrames(p(x), m)
			pos := g.Conv1d(h, g.WeightNorm(p(pv), p(pg)), p(pb), ConvOpts{Groups: 2, PadLeft: 2, PadRight: 1})
			h = g.Add(h, g.GELU(pos))
			attend := func(h *Node) *Node {
				return conv(g.Attention(conv(h, qw, qb), conv(h, kw, kb), conv(h, vw, vb), m, heads), ow, ob)
			}
			ff := func(h *Node) *Node { return conv(g.GELU(conv(h, f1w, f1b)), f2w, f2b) }
			if preLN {
				h = g.Add(h, attend(g.LayerNorm(h, p(g1), p(b1), 1e-5)))
				h = g.Add(h, ff(g.LayerNorm(h, p(g2), p(b2), 1e-5)))
			} else {
				h = g.LayerNorm(g.Add(h, attend(h)), p(g1), p(b1), 1e-5)
				h = g.LayerNorm(g.Add(h, ff(h)), p(g2), p(b2), 1e-5)
			}
			return g.MulFrames(h, m)
		}, params...)
	}
}

// TestExpNonPositive: the softmax's exponential is within 1e-8 (relative)
// of math.Exp over the range it serves, 0 below it, NaN on NaN.
func TestExpNonPositive(t *testing.T) {
	worst := 0.0
	for i := range 2000001 {
		x := -708 * float64(i) / 2000000
		want := math.Exp(x)
		worst = math.Max(worst, math.Abs(expNonPositive(x)-want)/want)
	}
	if worst > 1e-8 {
		t.Errorf("relative error %.3g", worst)
	}
	if expNonPositive(-800) != 0 || expNonPositive(0) != 1 || !math.IsNaN(expNonPositive(math.NaN())) {
		t.Error("edges")
	}
}

func BenchmarkExp(b *testing.B) {
	b.Run("math", func(b *testing.B) {
		s := 0.0
		for i := 0; b.Loop(); i++ {
			s += math.Exp(-float64(i%1000) / 100)
		}
		_ = s
	})
	b.Run("expNonPositive", func(b *testing.B) {
		s := 0.0
		for i := 0; b.Loop(); i++ {
			s += expNonPositive(-float64(i%1000) / 100)
		}
		_ = s
	})
	// A softmax row of 1000 keys: softmaxExp32 (AVX2 where the CPU has
	// it), per element.
	b.Run("softmaxExp32", func(b *testing.B) {
		row, src := make([]float32, 1000), make([]float32, 1000)
		for i := range src {
			src[i] = -float32(i%1000) / 100
		}
		s := 0.0
		for b.Loop() {
			copy(row, src)
			s += softmaxExp32(row, nil, 0)
		}
		_ = s
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*len(row)), "ns/elem")
	})
}

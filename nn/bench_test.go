package nn

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/nn/internal/kernels"
)

// BenchmarkConv1d: batch 8, 128 -> 128 channels, 1600 frames, kernel 3,
// stride 2; forward plus the input and weight gradients. "graph" runs the
// Conv1d op through a compiled Program (with a sum as the loss); "kernels"
// calls the three kernels directly, the floor for the graph's overhead.
// FLOPs = 3 x 2*B*Cout*Cin*K*Tout.
func BenchmarkConv1d(b *testing.B) {
	s := kernels.ConvShape{B: 8, Cin: 128, Cout: 128, Tin: 1600, K: 3, Stride: 2, Dilation: 1}
	rng := rand.New(rand.NewPCG(1, 1))
	x := randParam(rng, "x", s.B, s.Cin, s.Tin)
	w := randParam(rng, "w", s.Cout, s.Cin, s.K)
	bias := randParam(rng, "b", s.Cout)
	flops := 3 * s.FLOPs()

	b.Run("graph", func(b *testing.B) {
		g := NewGraph()
		y := g.Conv1d(g.Param(x), g.Param(w), g.Param(bias), ConvOpts{Stride: 2})
		prog, err := g.Compile(g.Sum(y))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := prog.Run(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("kernels", func(b *testing.B) {
		y := make([]float32, s.B*s.Cout*s.Tout())
		dx := make([]float32, len(x.Data))
		dw := make([]float32, len(w.Data))
		db := make([]float32, s.Cout)
		for b.Loop() {
			kernels.Conv1dForward(s, y, x.Data, w.Data, bias.Data)
			clear(dx)
			kernels.Conv1dBackwardData(s, dx, y, w.Data)
			kernels.Conv1dBackwardWeight(s, dw, db, x.Data, y)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// benchModel is a tiny wav2vec-like model: a five-layer feature encoder
// (kernels 10,8,4,4,4, strides 5,4,2,2,2, group norm with one group, GELU)
// and a context network of residual dilated convolutions with layer norm,
// GELU and dropout, all with C channels.
type benchModel struct {
	ps  Params
	enc []*Conv1d
	gn  []*GroupNorm
	ctx []*Conv1d
	ln  []*LayerNorm
}

func newBenchModel(b testing.TB, C, ctxLayers int) *benchModel {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &benchModel{}
	in := 1
	for i, ks := range [][2]int{{10, 5}, {8, 4}, {4, 2}, {4, 2}, {4, 2}} {
		c, err := NewConv1d(&m.ps, "enc."+string(rune('0'+i)), Conv1dConfig{In: in, Out: C, Kernel: ks[0], Stride: ks[1], NoBias: true}, rng)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := NewGroupNorm(&m.ps, "enc.norm."+string(rune('0'+i)), 1, C)
		m.enc, m.gn, in = append(m.enc, c), append(m.gn, n), C
	}
	for i := range ctxLayers {
		c, err := NewConv1d(&m.ps, "ctx."+string(rune('a'+i)), Conv1dConfig{In: C, Out: C, Kernel: 3, Dilation: 1 << (i % 5), Padding: PadCentred}, rng)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := NewLayerNorm(&m.ps, "ctx.norm."+string(rune('a'+i)), C)
		m.ctx, m.ln = append(m.ctx, c), append(m.ln, n)
	}
	return m
}

func (m *benchModel) forward(g *Graph, x *Node) *Node {
	for i, c := range m.enc {
		x = g.GELU(m.gn[i].Forward(g, c.Forward(g, x)))
	}
	for i, c := range m.ctx {
		x = g.Add(x, g.Dropout(g.GELU(m.ln[i].Forward(g, c.Forward(g, x))), 0.1))
	}
	return x
}

// BenchmarkModelStep compiles the tiny model's training graph for a batch
// of 8 one-second crops and runs forward + backward: compile time, memory
// held by the compiled graph, and audio seconds per second.
func BenchmarkModelStep(b *testing.B) {
	m := newBenchModel(b, 128, 9)
	const B, T = 8, 16000
	g := NewGraph()
	g.Training = true
	x := g.Input("wave", B, 1, T)
	c := m.forward(g, x)
	start := time.Now()
	prog, err := g.Compile(g.Mean(g.Square(c)))
	if err != nil {
		b.Fatal(err)
	}
	compile := time.Since(start)
	in := make([]float32, x.Size())
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range in {
		in[i] = float32(rng.NormFloat64())
	}
	prog.Set(x, in)
	for b.Loop() {
		if err := prog.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(compile.Milliseconds()), "compile-ms")
	b.ReportMetric(float64(prog.Bytes())/(1<<20), "graph-MiB")
	b.ReportMetric(float64(len(g.nodes)), "nodes")
	b.ReportMetric(float64(b.N)*B*T/16000/b.Elapsed().Seconds(), "audio-s/s")
}

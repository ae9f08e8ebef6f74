package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkSgemm(b *testing.B) {
	shapes := []struct{ m, n, k int }{
		{1024, 1024, 1024},
		{128, 6400, 384}, // a conv layer's im2col GEMM: Cout x B*Tout x Cin*K
	}
	for _, kern := range []microKernel{kernelAVX512, kernelAVX2, kernelPureGo} {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("kernel=%v/%dx%dx%d", kern, sh.m, sh.n, sh.k), func(b *testing.B) {
				if !kern.available() {
					b.Skipf("CPU lacks %v", kern)
				}
				old := activeKernel
				activeKernel = kern
				defer func() { activeKernel = old }()
				rng := rand.New(rand.NewPCG(1, 1))
				a, bm := randFloats(rng, sh.m*sh.k), randFloats(rng, sh.k*sh.n)
				c := make([]float32, sh.m*sh.n)
				start := cpuTime()
				for b.Loop() {
					Sgemm(false, false, sh.m, sh.n, sh.k, 1, a, sh.k, bm, sh.n, 0, c, sh.n)
				}
				flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				reportCPU(b, start, flops)
			})
		}
	}
}

// issueShape is the Conv1d of the performance goal: batch 8, 128 -> 128
// channels, 1600 frames, kernel 3, stride 2, padding 1 on each side.
var issueShape = ConvShape{B: 8, Cin: 128, Cout: 128, Tin: 1600, K: 3, Stride: 2, Dilation: 1, PadLeft: 1, PadRight: 1}

// BenchmarkConv1dKernels times forward + backward data + backward weight
// (counted as 3 x the forward FLOPs), then each pass alone.
func BenchmarkConv1dKernels(b *testing.B) {
	s := issueShape
	rng := rand.New(rand.NewPCG(2, 2))
	x := randFloats(rng, s.B*s.Cin*s.Tin)
	w := randFloats(rng, s.Cout*s.Cin*s.K)
	bias := randFloats(rng, s.Cout)
	y := make([]float32, s.B*s.Cout*s.Tout())
	dy := randFloats(rng, len(y))
	dx := make([]float32, len(x))
	dw := make([]float32, len(w))
	dbias := make([]float32, len(bias))
	passes := []struct {
		name   string
		passes float64
		f      func()
	}{
		{"all", 3, func() {
			Conv1dForward(s, y, x, w, bias)
			Conv1dBackwardData(s, dx, dy, w)
			Conv1dBackwardWeight(s, dw, dbias, x, dy)
		}},
		{"forward", 1, func() { Conv1dForward(s, y, x, w, bias) }},
		{"data", 1, func() { Conv1dBackwardData(s, dx, dy, w) }},
		{"weight", 1, func() { Conv1dBackwardWeight(s, dw, dbias, x, dy) }},
	}
	for _, p := range passes {
		b.Run(p.name, func(b *testing.B) {
			start := cpuTime()
			for b.Loop() {
				p.f()
			}
			b.ReportMetric(p.passes*s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			reportCPU(b, start, p.passes*s.FLOPs())
		})
	}
}

// BenchmarkClock reads the clock a core runs at from a chain of dependent
// one-cycle integer additions, and reports the single-precision peak of one
// core that it implies for the active micro-kernel: 2 FMA units (Intel
// since Haswell, AMD since Zen) x the kernel's lanes (16 for AVX-512, 8 for
// AVX2) x 2 flops, per cycle.
func BenchmarkClock(b *testing.B) {
	if !haveAddChain {
		b.Skip("no assembly in this build")
	}
	const n = 50_000_000
	for b.Loop() {
		addChain(n)
	}
	ghz := 8 * n * float64(b.N) / b.Elapsed().Seconds() / 1e9
	lanes := map[microKernel]float64{kernelAVX512: 16, kernelAVX2: 8, kernelPureGo: 1}[activeKernel]
	b.ReportMetric(ghz, "GHz")
	b.ReportMetric(ghz*2*lanes*2, "peak-GFLOP/s/core")
}

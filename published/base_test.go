package published

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/nn"
)

// baseDir returns the folder of the random base-sized model that
// tools/reference/w2v2_fixtures.py --base writes ($W2V2_BASE), or skips.
func baseDir(tb testing.TB) string {
	dir := os.Getenv("W2V2_BASE")
	if dir == "" {
		tb.Skip("W2V2_BASE is not set: /usr/bin/python3 tools/reference/w2v2_fixtures.py --base DIR writes the model")
	}
	return dir
}

// TestBaseSize loads a random model of wav2vec2-base-960h's size (95 M
// parameters) and compares its logits for 10 s of audio with torchaudio's
// within 1e-3, stating the load time and the heap it took. Outside CI.
func TestBaseSize(t *testing.T) {
	dir := baseDir(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m, err := LoadHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	runtime.ReadMemStats(&after)
	t.Logf("loaded in %v; heap allocated while loading %.0f MB, in use after %.0f MB", load,
		float64(after.TotalAlloc-before.TotalAlloc)/1e6, float64(after.HeapInuse)/1e6)
	ref, err := nn.LoadCheckpoint(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	x := ref.Tensors["input.0"].Data
	g := nn.NewGraph()
	in := g.Input("x", 1, 1, len(x))
	logits := m.Logits(g, m.Body.Forward(g, m.Body.Features(g, in), nil).Out)
	prog, err := g.Compile(nil, logits)
	if err != nil {
		t.Fatal(err)
	}
	prog.Set(in, x)
	start = time.Now()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	t.Logf("10 s of audio in %v", time.Since(start))
	got, want := prog.Value(logits), ref.Tensors["logits.0"]
	T, V := want.Shape[0], want.Shape[1]
	worst := 0.0
	for f := range T {
		for v := range V {
			worst = math.Max(worst, math.Abs(float64(got[v*T+f])-float64(want.Data[f*V+v])))
		}
	}
	t.Logf("logits: max abs difference %.3g from torchaudio", worst)
	if worst > 1e-3 {
		t.Errorf("logits differ from torchaudio's by %.3g", worst)
	}
}

// BenchmarkWav2Vec2Base runs the base-sized model's forward pass (features
// to logits) on 10 s of audio: x-realtime and GFLOP/s. Compare it with
// onnxruntime on the same weights with bench/ort.
func BenchmarkWav2Vec2Base(b *testing.B) {
	dir := baseDir(b)
	m, err := LoadHF(dir)
	if err != nil {
		b.Fatal(err)
	}
	const L = 10 * 16000
	x := make([]float32, L)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.01))
	}
	g := nn.NewGraph()
	in := g.Input("x", 1, 1, L)
	logits := m.Logits(g, m.Body.Forward(g, m.Body.Features(g, in), nil).Out)
	prog, err := g.Compile(nil, logits)
	if err != nil {
		b.Fatal(err)
	}
	prog.Set(in, x)
	if err := prog.Run(); err != nil { // warm up outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := prog.Run(); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(10/sec, "x-realtime")
	b.ReportMetric(m.Body.Config.FLOPs(L)/sec/1e9, "GFLOP/s")
}

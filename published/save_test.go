package published

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

// TestSaveHF: every fixture variant written by SaveHF loads back with
// LoadHF with the same architecture, weights, vocabulary, blank and
// normalisation, and gives torchaudio's logits (or last layer) as the
// original does.
func TestSaveHF(t *testing.T) {
	for _, v := range []string{"w2v2-base-ctc", "w2v2-large-ctc", "hubert-large-ctc", "w2v2-base", "hubert-base"} {
		t.Run(v, func(t *testing.T) {
			src := filepath.Join("testdata", v)
			m, err := LoadHF(src)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := SaveHF(dir, m); err != nil {
				t.Fatal(err)
			}
			back, err := LoadHF(dir)
			if err != nil {
				t.Fatal(err)
			}
			if back.Arch != m.Arch || !slices.Equal(back.Vocab, m.Vocab) || back.Blank != m.Blank || back.Delimiter != m.Delimiter ||
				back.Normalize != m.Normalize || back.Body.Config.NoFeatureProjNorm != m.Body.Config.NoFeatureProjNorm || len(back.Unused) != 0 {
				t.Errorf("read back: arch %q vocab %q blank %d delimiter %d normalize %v unused %q; was %q %q %d %d %v",
					back.Arch, back.Vocab, back.Blank, back.Delimiter, back.Normalize, back.Unused, m.Arch, m.Vocab, m.Blank, m.Delimiter, m.Normalize)
			}
			want, got := m.Body.Params(), back.Body.Params()
			if m.HeadW != nil {
				want, got = append(want, m.HeadW, m.HeadB), append(got, back.HeadW, back.HeadB)
			}
			if len(want) != len(got) {
				t.Fatalf("%d tensors back, %d written", len(got), len(want))
			}
			for i, p := range want {
				if got[i].Name != p.Name || !slices.Equal(got[i].Shape, p.Shape) || !slices.Equal(got[i].Data, p.Data) {
					t.Errorf("%s %v read back as %s %v, or its values differ", p.Name, p.Shape, got[i].Name, got[i].Shape)
				}
			}
			ref, err := nn.LoadCheckpoint(filepath.Join(src, "reference.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			x := ref.Tensors["input.0"].Data
			a, b := outputOf(t, m, x), outputOf(t, back, x)
			worst := 0.0
			for i := range a {
				worst = max(worst, math.Abs(float64(a[i]-b[i])))
			}
			if worst > 1e-5 {
				t.Errorf("outputs differ by %.3g after SaveHF and LoadHF", worst)
			}
		})
	}
}

// outputOf returns the logits of a model with a head, else its last
// layer's output, for one input.
func outputOf(t *testing.T, m *Model, x []float32) []float32 {
	t.Helper()
	g := nn.NewGraph()
	in := g.Input("x", 1, 1, len(x))
	out := m.Body.Forward(g, m.Body.Features(g, in), nil).Out
	if m.HeadW != nil {
		out = m.Logits(g, out)
	}
	prog, err := g.Compile(nil, out)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	prog.Set(in, x)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(prog.Value(out))
}

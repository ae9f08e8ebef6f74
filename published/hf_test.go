package published

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

var variants = []string{"w2v2-base-ctc", "w2v2-large-ctc", "w2v2-base", "hubert-large-ctc", "hubert-base"}

// reference reads a variant's torchaudio outputs.
func reference(t *testing.T, variant string) *nn.Checkpoint {
	t.Helper()
	ck, err := nn.LoadCheckpoint(filepath.Join("testdata", variant, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// compareTimeMajor compares got [C, T] (channels-first, one utterance, the
// first T frames of a row of Tg) with want [T, C] (torchaudio's layout).
func compareTimeMajor(t *testing.T, what string, got []float32, Tg int, want nn.SavedTensor, tol float64) {
	t.Helper()
	T, C := want.Shape[0], want.Shape[1]
	if len(got) != C*Tg || T > Tg {
		t.Fatalf("%s: %d values for %d frames, torchaudio has %v", what, len(got), Tg, want.Shape)
	}
	worst := 0.0
	for c := range C {
		for f := range T {
			worst = max(worst, math.Abs(float64(got[c*Tg+f])-float64(want.Data[f*C+c])))
		}
	}
	t.Logf("%s: max abs difference %.3g", what, worst)
	if worst > tol {
		t.Errorf("%s: max abs difference %.3g from torchaudio (tolerance %g)", what, worst, tol)
	}
}

// TestParity runs each variant on the reference inputs and compares every
// stage with torchaudio: the feature encoder, each layer, the output and
// the logits, within 1e-4.
func TestParity(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			m, err := LoadHF(filepath.Join("testdata", v))
			if err != nil {
				t.Fatal(err)
			}
			ref := reference(t, v)
			for n := range 2 {
				x := ref.Tensors[fmt.Sprintf("input.%d", n)].Data
				g := nn.NewGraph()
				in := g.Input("x", 1, 1, len(x))
				out := m.Body.Forward(g, m.Body.Features(g, in), nil)
				nodes := append([]*nn.Node{out.Features, out.Out}, out.Layers...)
				var logits *nn.Node
				if m.HeadW != nil {
					logits = m.Logits(g, out.Out)
					nodes = append(nodes, logits)
				}
				prog, err := g.Compile(nil, nodes...)
				if err != nil {
					t.Fatal(err)
				}
				prog.Set(in, x)
				if err := prog.Run(); err != nil {
					t.Fatal(err)
				}
				T := out.Out.Shape()[2]
				compareTimeMajor(t, fmt.Sprintf("features.%d", n), prog.Value(out.Features), T, ref.Tensors[fmt.Sprintf("features.%d", n)], 1e-4)
				for i, l := range out.Layers {
					compareTimeMajor(t, fmt.Sprintf("layer%d.%d", i, n), prog.Value(l), T, ref.Tensors[fmt.Sprintf("layer%d.%d", i, n)], 1e-4)
				}
				compareTimeMajor(t, fmt.Sprintf("output.%d", n), prog.Value(out.Out), T, ref.Tensors[fmt.Sprintf("output.%d", n)], 1e-4)
				if logits != nil {
					compareTimeMajor(t, fmt.Sprintf("logits.%d", n), prog.Value(logits), T, ref.Tensors[fmt.Sprintf("logits.%d", n)], 1e-4)
				}
			}
		})
	}
}

// TestParityBatch runs both inputs as one zero-padded batch with a frame
// mask: the real frames equal torchaudio's padded batch, and for the
// "layer" feature norm each utterance's output alone.
func TestParityBatch(t *testing.T) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			m, err := LoadHF(filepath.Join("testdata", v))
			if err != nil {
				t.Fatal(err)
			}
			ref := reference(t, v)
			xs := [][]float32{ref.Tensors["input.0"].Data, ref.Tensors["input.1"].Data}
			L := max(len(xs[0]), len(xs[1]))
			batch := make([]float32, 2*L)
			for n, x := range xs {
				copy(batch[n*L:], x)
			}
			T := m.Body.Config.Frames(L)
			valid := make([]float32, 2*T)
			for n, x := range xs {
				for f := range m.Body.Config.Frames(len(x)) {
					valid[n*T+f] = 1
				}
			}
			g := nn.NewGraph()
			in, vn := g.Input("x", 2, 1, L), g.Input("valid", 2, 1, T)
			out := m.Body.Forward(g, m.Body.Features(g, in), vn)
			prog, err := g.Compile(nil, out.Out)
			if err != nil {
				t.Fatal(err)
			}
			prog.Set(in, batch)
			prog.Set(vn, valid)
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			got := prog.Value(out.Out)
			D := m.Body.Config.Dim
			want := ref.Tensors["batch.output"]
			frames := ref.Tensors["batch.frames"].Data
			for n := range 2 {
				Tn := int(frames[n])
				if Tn != m.Body.Config.Frames(len(xs[n])) {
					t.Fatalf("utterance %d: torchaudio has %d frames, we count %d", n, Tn, m.Body.Config.Frames(len(xs[n])))
				}
				row := nn.SavedTensor{Shape: []int{Tn, D}, Data: want.Data[n*T*D : n*T*D+Tn*D]}
				compareTimeMajor(t, fmt.Sprintf("batch utterance %d", n), got[n*D*T:(n+1)*D*T], T, row, 1e-4)
				if m.Body.Config.FeatureNorm == "layer" {
					compareTimeMajor(t, fmt.Sprintf("batch utterance %d against alone", n), got[n*D*T:(n+1)*D*T], T,
						ref.Tensors[fmt.Sprintf("output.%d", n)], 1e-4)
				}
			}
		})
	}
}

// TestParamShapes: ParamShapes lists what NewTransformer makes, in order.
func TestParamShapes(t *testing.T) {
	for _, v := range variants {
		m, err := LoadHF(filepath.Join("testdata", v))
		if err != nil {
			t.Fatal(err)
		}
		want, got := m.Body.Config.ParamShapes(), m.Body.Params()
		if len(want) != len(got) {
			t.Fatalf("%s: %d shapes, %d params", v, len(want), len(got))
		}
		for i, p := range got {
			if p.Name != want[i].Name || !slices.Equal(p.Shape, want[i].Shape()) {
				t.Errorf("%s: param %d is %s %v, ParamShapes says %s %v", v, i, p.Name, p.Shape, want[i].Name, want[i].Shape())
			}
		}
	}
}

package published

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
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

// layouts are the files of each variant that hold the same model: the
// Hugging Face folder (safetensors), the fairseq .pt file, and for two
// variants a pytorch_model.bin folder and a sharded folder.
func layouts(v string) map[string]string {
	l := map[string]string{"hf": filepath.Join("testdata", v), "fairseq": filepath.Join("testdata", v, "fairseq.pt")}
	switch v {
	case "w2v2-base":
		l["fairseq-args"] = filepath.Join("testdata", v, "fairseq-args.pt")
	case "w2v2-base-ctc":
		l["bin"] = filepath.Join("testdata", v+"-bin")
	case "w2v2-large-ctc":
		l["fairseq-legacy"] = filepath.Join("testdata", v, "fairseq-legacy.pt")
	case "hubert-large-ctc":
		l["sharded"] = filepath.Join("testdata", v+"-sharded")
		l["sharded-bin"] = filepath.Join("testdata", v+"-sharded-bin")
	}
	return l
}

// TestParity runs each variant, from each file layout, on the reference
// inputs and compares every stage with torchaudio: the feature encoder,
// each layer, the output and the logits, within 1e-4.
func TestParity(t *testing.T) {
	for _, v := range variants {
		for layout, path := range layouts(v) {
			t.Run(v+"/"+layout, func(t *testing.T) { parity(t, v, path) })
		}
	}
}

func parity(t *testing.T, v, path string) {
	m, err := Load(path)
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

// copyDir copies a fixture folder's files into a new folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editJSON rewrites a JSON file of dir through edit.
func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadHFErrors: a config that does not describe the tensors, a missing
// tensor, a broken vocabulary or an unsupported model is an error naming
// the file and the problem, found before the model is allocated.
func TestLoadHFErrors(t *testing.T) {
	src := filepath.Join("testdata", "w2v2-base-ctc")
	for name, c := range map[string]struct {
		edit func(dir string)
		want string
	}{
		"huge hidden size": {func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["hidden_size"] = 8192; m["num_attention_heads"] = 8 })
		}, "config hidden_size 8192 does not match tensor"},
		"more layers than the file": {func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["num_hidden_layers"] = 200 })
		}, "encoder.layers.2.attention.k_proj.weight"},
		"vocab size": {func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["vocab_size"] = 1 << 20 })
		}, "vocab_size"},
		"absurd config": {func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["hidden_size"] = 1 << 40 })
		}, "hidden_size"},
		"conformer": {func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["position_embeddings_type"] = "relative" })
		}, "conformer"},
		"pretraining head": {func(d string) {
			editJSON(t, filepath.Join(d, "config.json"), func(m map[string]any) { m["architectures"] = []string{"Wav2Vec2ForPreTraining"} })
		}, "Wav2Vec2ForPreTraining"},
		"vocab id twice": {func(d string) {
			editJSON(t, filepath.Join(d, "vocab.json"), func(m map[string]any) { m["E"] = 4.0 })
		}, "vocab.json"},
		"no weights": {func(d string) { os.Remove(filepath.Join(d, "model.safetensors")) }, "no model.safetensors"},
		"8 kHz": {func(d string) {
			editJSON(t, filepath.Join(d, "preprocessor_config.json"), func(m map[string]any) { m["sampling_rate"] = 8000 })
		}, "sampling_rate 8000"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := copyDir(t, src)
			c.edit(dir)
			_, err := LoadHF(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("%v, want an error naming %s and %q", err, dir, c.want)
			}
		})
	}
	// Tensors the model does not use are listed, and ignored.
	dir := copyDir(t, filepath.Join("testdata", "w2v2-base-ctc"))
	m, err := LoadHF(dir)
	if err != nil || len(m.Unused) != 0 {
		t.Fatalf("unused %v, %v", m.Unused, err)
	}
	ck, err := nn.LoadCheckpoint(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var params []*nn.Param
	for name, tensor := range ck.Tensors {
		p := nn.NewParam(name, tensor.Shape...)
		copy(p.Data, tensor.Data)
		params = append(params, p)
	}
	extra := map[string][]float32{"wav2vec2.mask_time_emb_vector": make([]float32, 32), "quantizer.vars": make([]float32, 8)}
	if err := nn.SaveCheckpoint(filepath.Join(dir, "model.safetensors"), params, extra, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if m, err = LoadHF(dir); err != nil || !slices.Equal(m.Unused, []string{"quantizer.vars", "wav2vec2.mask_time_emb_vector"}) {
		t.Errorf("unused %v, %v", m.Unused, err)
	}
}

// TestExtract: ExtractTo writes the features, the output and each layer
// of a WAV stream as the model's graph computes them on the decoded,
// normalised samples (the input is one window; the graph's parity with
// torchaudio is TestParity's).
func TestExtract(t *testing.T) {
	m, err := LoadHF(filepath.Join("testdata", "w2v2-large-ctc"))
	if err != nil {
		t.Fatal(err)
	}
	ref := reference(t, "w2v2-large-ctc")
	var wav bytes.Buffer
	if err := audio.Encode(&wav, ref.Tensors["input.0"].Data, audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	x, _, err := audio.Decode(bytes.NewReader(wav.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	audio.Normalize(x)
	g := nn.NewGraph()
	in := g.Input("x", 1, 1, len(x))
	o := m.Body.Forward(g, m.Body.Features(g, in), nil)
	prog, err := g.Compile(nil, o.Features, o.Out, o.Layers[0], o.Layers[1])
	if err != nil {
		t.Fatal(err)
	}
	prog.Set(in, x)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	for layer, node := range map[string]*nn.Node{"z": o.Features, "c": o.Out, "1": o.Layers[0], "2": o.Layers[1]} {
		var out bytes.Buffer
		frames, dim, err := m.ExtractTo(&out, bytes.NewReader(wav.Bytes()), layer)
		if err != nil {
			t.Fatal(err)
		}
		C, T := node.Shape()[1], node.Shape()[2]
		if frames != T || dim != C {
			t.Fatalf("layer %s: %d x %d, the graph %d x %d", layer, frames, dim, T, C)
		}
		got, want := out.Bytes()[len(out.Bytes())-4*frames*dim:], prog.Value(node)
		for c := range C {
			for f := range T {
				v := math.Float32frombits(binary.LittleEndian.Uint32(got[4*(f*C+c):]))
				if d := math.Abs(float64(v - want[c*T+f])); d > 1e-5 {
					t.Fatalf("layer %s frame %d channel %d: %g, the graph %g", layer, f, c, v, want[c*T+f])
				}
			}
		}
	}
	if _, _, err := m.ExtractTo(io.Discard, bytes.NewReader(wav.Bytes()), "3"); err == nil || !strings.Contains(err.Error(), "want z, c or 1 to 2") {
		t.Errorf("layer 3 of 2: %v", err)
	}
}

package asr_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
)

// ortEnv returns the node binary and the node_modules folder holding
// onnxruntime-node (WAV2VEC_ORT_NODE_MODULES), or skips the test.
func ortEnv(t *testing.T) (node, modules string) {
	t.Helper()
	modules = os.Getenv("WAV2VEC_ORT_NODE_MODULES")
	if modules == "" {
		t.Skip("WAV2VEC_ORT_NODE_MODULES is not set: set it to a node_modules folder holding onnxruntime-node (npm install --ignore-scripts onnxruntime-node) to check the ONNX export in onnxruntime")
	}
	if _, err := os.Stat(filepath.Join(modules, "onnxruntime-node")); err != nil {
		t.Skipf("WAV2VEC_ORT_NODE_MODULES=%s holds no onnxruntime-node: %v", modules, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("no node to run onnxruntime-node: %v", err)
	}
	return node, modules
}

// ortRun runs the ONNX model in onnxruntime on each input [rows][samples]
// and returns the outputs, each [rows][frames*V].
func ortRun(t *testing.T, model []byte, inputs [][][]float32) [][][]float32 {
	t.Helper()
	node, modules := ortEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	type run struct {
		Input  string `json:"input"`
		Dims   []int  `json:"dims"`
		Output string `json:"output"`
	}
	var spec []run
	for i, rows := range inputs {
		var b []byte
		for _, r := range rows {
			for _, v := range r {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
			}
		}
		in := filepath.Join(dir, "in"+string(rune('a'+i)))
		if err := os.WriteFile(in, b, 0o644); err != nil {
			t.Fatal(err)
		}
		spec = append(spec, run{in, []int{len(rows), len(rows[0])}, in + ".out"})
	}
	js, _ := json.Marshal(spec)
	specPath := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "ort_run.js"), path, specPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if e, ok := err.(*exec.ExitError); ok {
			msg = string(e.Stderr)
		}
		t.Fatalf("onnxruntime: %v\n%s", err, msg)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res [][][]float32
	for i, r := range spec {
		var dims []int
		if err := json.Unmarshal([]byte(lines[i]), &dims); err != nil {
			t.Fatalf("onnxruntime output dims %q: %v", lines[i], err)
		}
		b, err := os.ReadFile(r.Output)
		if err != nil {
			t.Fatal(err)
		}
		all := make([]float32, len(b)/4)
		for j := range all {
			all[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		per := len(all) / dims[0]
		var rows [][]float32
		for k := range dims[0] {
			rows = append(rows, all[k*per:(k+1)*per])
		}
		res = append(res, rows)
	}
	return res
}

// speech returns the fixture recordings' samples.
func speech(t *testing.T) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, f := range []string{"clear_train_voice", "heldout_voice", "noisy_reverb"} {
		x, err := audio.ReadFile(filepath.Join("..", "testdata", "speech", f+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// TestONNXMatchesForward exports convolutional (waveform and log-mel) and
// transformer (post-LN with the group feature norm, pre-LN with layer
// norms, the toolkit's tiny one) models, normalising in the graph or
// reading their samples as they are, and checks that onnxruntime's output on the fixture
// recordings, alone and as a batch of two, equals LogProbs' to 1e-4.
func TestONNXMatchesForward(t *testing.T) {
	ortEnv(t)
	models := map[string]func(t *testing.T) *asr.Model{
		"conv-tiny-wave": func(t *testing.T) *asr.Model {
			m, err := asr.New(encoder.Tiny(), nil, asr.InitScratch, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		"conv-tiny-wave-raw": func(t *testing.T) *asr.Model {
			m, err := asr.New(encoder.Tiny(), nil, asr.InitScratch, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			m.Config.NoNormalize = true // digital silence reaches the network as exact zeros
			return m
		},
		"default-logmel": func(t *testing.T) *asr.Model {
			m, err := defaultmodel.Model()
			if err != nil {
				t.Skip(err)
			}
			return m
		},
	}
	models["tiny-transformer"] = func(t *testing.T) *asr.Model { return tinyTransformer(t, false) }
	models["tiny-transformer-raw"] = func(t *testing.T) *asr.Model { return tinyTransformer(t, true) }
	for _, v := range []string{"w2v2-base-ctc", "w2v2-large-ctc", "hubert-large-ctc"} {
		models[v] = func(t *testing.T) *asr.Model {
			pm, err := published.LoadHF(filepath.Join("..", "published", "testdata", v))
			if err != nil {
				t.Fatal(err)
			}
			m, err := asr.FromPublished(pm)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	wavs := speech(t)
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m := models[name](t)
			om, err := m.ONNX(asr.ONNXOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := om.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			tr, err := asr.NewTranscriber(m, asr.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Each file alone, then two of them cut to one length as a batch.
			n := len(wavs[0])
			batch := [][]float32{wavs[1][:n], wavs[2][:n]}
			inputs := [][][]float32{{wavs[0]}, {wavs[1]}, {wavs[2]}, batch}
			got := ortRun(t, b, inputs)
			var worst float64
			for i, in := range inputs {
				for r, x := range in {
					want, _, err := tr.LogProbs(x)
					if err != nil {
						t.Fatal(err)
					}
					if len(got[i][r]) != len(want) {
						t.Fatalf("input %d row %d: onnxruntime gave %d values, the toolkit %d", i, r, len(got[i][r]), len(want))
					}
					for j := range want {
						worst = max(worst, math.Abs(float64(got[i][r][j]-want[j])))
					}
				}
			}
			t.Logf("%s: %d bytes of ONNX, max abs difference from LogProbs %.3g", name, len(b), worst)
			if !(worst <= 1e-4) {
				t.Errorf("max abs difference %g, want <= 1e-4", worst)
			}
		})
	}
}

// TestONNXCallerNormalizes checks the graph without its normalisation on
// samples normalised by the caller.
func TestONNXCallerNormalizes(t *testing.T) {
	ortEnv(t)
	m, err := asr.New(encoder.Tiny(), nil, asr.InitScratch, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	om, err := m.ONNX(asr.ONNXOptions{CallerNormalizes: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := om.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	raw := speech(t)[2]
	x := slices.Clone(raw)
	audio.Normalize(x)
	got := ortRun(t, b, [][][]float32{{x}})[0][0]
	tr, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := tr.LogProbs(raw)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for j := range want {
		worst = max(worst, math.Abs(float64(got[j]-want[j])))
	}
	if !(len(got) == len(want) && worst <= 1e-4) {
		t.Errorf("%d values against %d, max abs difference %g, want <= 1e-4", len(got), len(want), worst)
	}
}

// tinyTransformer returns the toolkit's tiny transformer (layer feature
// norms, post-LN, a positional convolution of kernel 64 in 16 groups) with
// random weights and a random head; raw: the model reads its samples
// unnormalised (do_normalize false).
func tinyTransformer(t *testing.T, raw bool) *asr.Model {
	rng := rand.New(rand.NewPCG(5, 6))
	body, err := encoder.NewTransformer(encoder.TransformerTiny(), rng)
	if err != nil {
		t.Fatal(err)
	}
	vocab := []string{"<pad>", "|", "A", "B", "C", "D"}
	D := body.Config.Dim
	w, bias := &nn.Param{Name: "lm_head.weight", Shape: []int{len(vocab), D}, Data: make([]float32, len(vocab)*D)}, &nn.Param{Name: "lm_head.bias", Shape: []int{len(vocab)}, Data: make([]float32, len(vocab))}
	for i := range w.Data {
		w.Data[i] = float32(rng.NormFloat64() * 0.1)
	}
	for i := range bias.Data {
		bias.Data[i] = float32(rng.NormFloat64() * 0.1)
	}
	m, err := asr.FromPublished(&published.Model{Arch: "Wav2Vec2ForCTC", Body: body, HeadW: w, HeadB: bias, Vocab: vocab, Blank: 0, Delimiter: 1, Normalize: !raw})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

package asr

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/internal/safetensorstest"
	"github.com/wav2vec-go/wav2vec/nn"
)

// withMeta is safetensorstest.WithMeta.
var withMeta = safetensorstest.WithMeta

// smallModelFile returns a saved model small enough to load thousands of
// times: the wave input (the real feature convolutions, 4 channels) or
// log-mel features, 8 context channels, 2 layers, the toy vocabulary.
func smallModelFile(t testing.TB, init string) []byte {
	t.Helper()
	cfg := encoder.Tiny()
	cfg.ConvDim, cfg.Dim, cfg.ContextDilations = 4, 8, []int{1, 2}
	m, err := New(cfg, toyVocab(t), init, testRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "small.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editConfig decodes the config JSON of a model file, lets edit change it
// and encodes it again.
func editConfig(t testing.TB, file []byte, edit func(c map[string]any)) string {
	t.Helper()
	ck, err := nn.DecodeCheckpoint(file, "small")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal([]byte(ck.Meta[nn.MetaConfig]), &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// allocated returns the bytes that f allocates. It counts the whole
// process's allocations, so nothing may run beside it.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// loadBound is the most that loading a model file may allocate: a little
// more than a few times the file, never what a doctored config claims.
func loadBound(file []byte) uint64 { return 16<<20 + 10*uint64(len(file)) }

// doctoredConfigs are configs for smallModelFile's wave model that do not
// describe its tensors, and what the error must say. Without the checks
// before the model is built, "dim 100000" asks for 120 GB and the
// runtime dies of it, and "dim 4096" allocates 400 MB before LoadInto
// notices.
func doctoredConfigs(t testing.TB, file []byte) []struct{ name, config, want string } {
	enc := func(edit func(e map[string]any)) string {
		return editConfig(t, file, func(c map[string]any) { edit(c["encoder"].(map[string]any)) })
	}
	top := func(edit func(c map[string]any)) string { return editConfig(t, file, edit) }
	return []struct{ name, config, want string }{
		{"dim beyond the limit", enc(func(e map[string]any) { e["dim"] = 100000 }), "dim 100000 is beyond the limit 8192"},
		{"dim within the limit", enc(func(e map[string]any) { e["dim"] = 4096 }), "config encoder.dim 4096 does not match tensor encoder.proj.weight [8 4]"},
		{"conv_dim", enc(func(e map[string]any) { e["conv_dim"] = 2048 }), "config encoder.conv_dim 2048 does not match tensor encoder.feature.conv.0.weight [4 1 10]"},
		{"more layers", enc(func(e map[string]any) { e["context_dilations"] = slices.Repeat([]int{1}, 100) }),
			"config encoder.context_dilations (100 layers) calls for tensor encoder.context.2.conv.weight [8 8 3], which the file lacks (and 391 more)"},
		{"fewer layers", enc(func(e map[string]any) { e["context_dilations"] = []int{1} }),
			"tensor encoder.context.1.conv.bias [8] (and 3 more): the config's model has no such parameter"},
		{"layers beyond the limit", enc(func(e map[string]any) { e["context_dilations"] = slices.Repeat([]int{1}, 100000) }),
			"100000 context_dilations (context layers): beyond the limit 128"},
		{"negative context kernel", enc(func(e map[string]any) { e["context_kernel"] = -3 }), "context_kernel -3: want odd and positive"},
		{"huge context kernel", enc(func(e map[string]any) { e["context_kernel"] = 1<<62 + 1 }), "context_kernel 4611686018427387905 is beyond the limit 1023"},
		{"other context kernel", enc(func(e map[string]any) { e["context_kernel"] = 5 }),
			"config encoder.context_kernel 5 does not match tensor encoder.context.0.conv.weight [8 8 3]"},
		{"negative conv kernel", enc(func(e map[string]any) { e["conv_kernels"] = []int{-10, 8, 4, 4, 4} }), "conv_kernels [-10 8 4 4 4]: want positive"},
		{"huge conv kernel", enc(func(e map[string]any) { e["conv_kernels"] = []int{10, 8, 4, 4, 1 << 40} }), "1099511627776 is beyond the limit 1024"},
		{"other conv kernel", enc(func(e map[string]any) { e["conv_kernels"] = []int{10, 8, 4, 4, 3} }),
			"config encoder.conv_kernels[4] 3 does not match tensor encoder.feature.conv.4.weight [4 4 4]"},
		{"huge dilation", enc(func(e map[string]any) { e["context_dilations"] = []int{1, 1 << 40} }), "1099511627776 is beyond the limit 1024"},
		{"strides", enc(func(e map[string]any) { e["conv_strides"] = []int{1 << 40, 1 << 40, 1 << 40, 2, 2} }), "conv_strides"},
		{"negative dim", enc(func(e map[string]any) { e["dim"] = -8 }), "dim -8: want positive"},
		{"logmel input", enc(func(e map[string]any) { e["input"] = "logmel" }),
			"config encoder.logmel_bins 80 does not match tensor encoder.feature_norm.weight [4]"},
		{"logmel bins", enc(func(e map[string]any) { e["input"], e["logmel_bins"] = "logmel", 1<<31 }), "logmel_bins 2147483648 is beyond the limit 512"},
		{"dropout", enc(func(e map[string]any) { e["dropout"] = 1e308 }), "dropout 1e+308"},
		{"input kind", enc(func(e map[string]any) { e["input"] = strings.Repeat("w", 1<<20) }), `unknown input kind "wwww`},
		{"no encoder", top(func(c map[string]any) { delete(c, "encoder") }), "config encoder.dim 512 does not match tensor encoder.proj.weight [8 4]"},
		{"init", top(func(c map[string]any) { c["init"] = "bogus" }), `unknown init "bogus"`},
		{"vocab of 10", top(func(c map[string]any) { c["vocab"] = []string{"|", "A", "B", "C", "D", "E", "F", "G", "H", "I"} }),
			"config vocab (with the blank) 11 does not match tensor asr.head.weight [7 8 1]"},
		{"vocab twice", top(func(c map[string]any) { c["vocab"] = []string{"|", "A", "B", "C", "D", "A"} }), `symbol "A" appears twice`},
		{"vocab blank", top(func(c map[string]any) { c["vocab"] = []string{"|", "A", "B", "C", "D", ""} }), `symbol "" is empty`},
		{"vocab without boundary", top(func(c map[string]any) { c["vocab"] = []string{"F", "A", "B", "C", "D", "E"} }), `lacks the word boundary "|"`},
		{"no vocab", top(func(c map[string]any) { delete(c, "vocab") }), "config vocab (with the blank) 1 does not match"},
		{"vocab numbers", `{"vocab": [1, 2, 3]}`, "config: vocab symbol 0: json: cannot unmarshal number"},
		{"vocab string", `{"vocab": "|ABCDE"}`, "config: vocab is not a list of strings"},
		{"dim string", `{"encoder": {"dim": "8"}}`, "cannot unmarshal string"},
		{"dim fraction", `{"encoder": {"dim": 8.5}}`, "cannot unmarshal number 8.5"},
		{"dim 1e400", `{"encoder": {"dim": 1e400}}`, "cannot unmarshal number 1e400"},
		{"dim 2^63", `{"encoder": {"dim": 9223372036854775808}}`, "cannot unmarshal number 9223372036854775808"},
		{"dropout NaN", `{"encoder": {"dropout": NaN}}`, "invalid character 'N'"},
		{"dropout string", `{"encoder": {"dropout": "NaN"}}`, "cannot unmarshal string"},
		{"kernels object", `{"encoder": {"conv_kernels": {"0": 10}}}`, "cannot unmarshal object"},
		{"not an object", `[1, 2]`, "cannot unmarshal array"},
		{"null", `null`, "config encoder.dim 512 does not match"},
		{"truncated", `{"encoder": {"dim": 8`, "unexpected end of JSON input"},
	}
}

// TestLoadDoctoredConfig: a model file whose config (only) was changed is
// refused with an error naming the file and the field, and loading it
// allocates in proportion to the file, not to the config's claims.
func TestLoadDoctoredConfig(t *testing.T) {
	file := smallModelFile(t, InitScratch)
	dir := t.TempDir()
	valid := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(valid, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(valid); err != nil {
		t.Fatalf("the undoctored file: %v", err)
	}
	million := make([]string, 1_000_000)
	for i := range million {
		million[i] = fmt.Sprint(i)
	}
	cases := append(doctoredConfigs(t, file), struct{ name, config, want string }{"vocab of a million",
		editConfig(t, file, func(c map[string]any) { c["vocab"] = million }), "config: a vocab of more than 65536 symbols is beyond the limit"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := withMeta(t, file, nn.MetaConfig, &tc.config)
			path := filepath.Join(dir, "model.safetensors")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var m *Model
			var err error
			n := allocated(func() { m, err = Load(path) })
			if err == nil || m != nil {
				t.Fatalf("loaded %+v", m.Config)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "asr: ") || !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Errorf("error\n%.2000s\nwant one naming the file and saying %q", msg, tc.want)
			}
			if testing.Verbose() {
				t.Log(msg)
			}
			if len(msg) > 4000 {
				t.Errorf("an error of %d bytes", len(msg))
			}
			if n > loadBound(data) {
				t.Errorf("loading a %d-byte file allocated %d bytes", len(data), n)
			}
		})
	}
	t.Run("no config", func(t *testing.T) {
		path := filepath.Join(dir, "model.safetensors")
		if err := os.WriteFile(path, withMeta(t, file, nn.MetaConfig, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `metadata "config" missing`) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v", err)
		}
	})
}

// TestFromPretrainedDoctored: a pretraining checkpoint's encoder config is
// checked against its tensors before the encoder is built.
func TestFromPretrainedDoctored(t *testing.T) {
	file := smallModelFile(t, InitScratch) // its encoder.* tensors make a pretrained body
	path := filepath.Join(t.TempDir(), "pre.safetensors")
	kind := "pretrain"
	file = withMeta(t, file, nn.MetaKind, &kind)
	cases := []struct{ name, edit, want string }{
		{"valid", "", ""},
		{"dim beyond the limit", `"dim":100000`, "dim 100000 is beyond the limit 8192"},
		{"dim within the limit", `"dim":4096`, "config encoder.dim 4096 does not match tensor encoder.proj.weight [8 4]"},
		{"layers", `"context_dilations":[1,2,3]`, "config encoder.context_dilations (3 layers) calls for tensor encoder.context.2.conv.weight"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			config := editConfig(t, file, func(c map[string]any) {
				if tc.edit == "" {
					return
				}
				e := c["encoder"].(map[string]any)
				if err := json.Unmarshal([]byte("{"+tc.edit+"}"), &e); err != nil {
					t.Fatal(err)
				}
			})
			data := withMeta(t, file, nn.MetaConfig, &config)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			n := allocated(func() { _, err = FromPretrained(path, nil, testRNG(1)) })
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming the file and saying %q", err, tc.want)
			}
			if n > loadBound(data) {
				t.Errorf("loading a %d-byte file allocated %d bytes", len(data), n)
			}
		})
	}
}

// FuzzCheckpointConfig feeds configs to FromCheckpoint over the tensors of
// a valid small model (wave or log-mel input). Whatever the config, the
// result is an error naming the file, or a model whose parameters are the
// file's tensors, and loading allocates little.
func FuzzCheckpointConfig(f *testing.F) {
	files := map[bool]*nn.Checkpoint{}
	for _, logmel := range []bool{false, true} {
		init := InitScratch
		if logmel {
			init = InitLogMel
		}
		file := smallModelFile(f, init)
		ck, err := nn.DecodeCheckpoint(file, "fuzz.safetensors")
		if err != nil {
			f.Fatal(err)
		}
		files[logmel] = ck
		f.Add(logmel, ck.Meta[nn.MetaConfig])
	}
	for i, tc := range doctoredConfigs(f, smallModelFile(f, InitScratch)) {
		f.Add(i%2 == 0, tc.config)
	}
	f.Fuzz(func(t *testing.T, logmel bool, config string) {
		base := files[logmel]
		ck := &nn.Checkpoint{Path: base.Path, Tensors: base.Tensors, Meta: map[string]string{nn.MetaKind: KindASR, nn.MetaConfig: config}}
		var m *Model
		var err error
		n := allocated(func() { m, err = FromCheckpoint(ck) })
		if n > 64<<20 {
			t.Fatalf("loading allocated %d bytes", n)
		}
		if err != nil {
			if m != nil {
				t.Fatal("a model and an error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "asr: ") || !strings.Contains(msg, base.Path) {
				t.Fatalf("error %q does not name the file", msg)
			}
			return
		}
		for _, p := range m.Params() {
			if !slices.Equal(p.Shape, base.Tensors[p.Name].Shape) {
				t.Fatalf("%s: shape %v, the file's %v", p.Name, p.Shape, base.Tensors[p.Name].Shape)
			}
		}
		if m.Hop() != 160 || m.MinSamples() < 1 || m.Frames(m.MinSamples()) != 1 {
			t.Fatalf("hop %d, min samples %d", m.Hop(), m.MinSamples())
		}
	})
}

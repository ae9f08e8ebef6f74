package pretrain

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/internal/safetensorstest"
	"github.com/wav2vec-go/wav2vec/nn"
)

// TestParamShapes: FullConfig.ParamShapes lists what New makes and Params
// returns, name for name and shape for shape.
func TestParamShapes(t *testing.T) {
	logmel := quickConfig()
	logmel.Encoder.Input = "logmel"
	zero := FullConfig{Pretrain: Tiny()} // the encoder and quantizer zero but for their sizes
	zero.Encoder.ConvDim, zero.Encoder.Dim, zero.Encoder.ContextDilations = 4, 8, []int{1}
	zero.Quantizer.Codes, zero.Quantizer.Dim = 4, 8
	for name, cfg := range map[string]FullConfig{"quantizer": quickConfig(), "mfcc": quickMFCCConfig(), "logmel": logmel, "zero": zero,
		"teacher": quickTeacherConfig(), "transformer-teacher": quickTransformerTeacherConfig(), "decoder": quickDecoderConfig()} {
		t.Run(name, func(t *testing.T) {
			m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			want, got := cfg.ParamShapes(), m.Params()
			if len(want) != len(got) {
				t.Fatalf("New makes %d parameters, ParamShapes lists %d", len(got), len(want))
			}
			for i, p := range got {
				if p.Name != want[i].Name || !slices.Equal(p.Shape, want[i].Shape()) {
					t.Errorf("parameter %d: New makes %s %v, ParamShapes lists %s %v", i, p.Name, p.Shape, want[i].Name, want[i].Shape())
				}
			}
		})
	}
}

// withConfig returns a safetensors file with its metadata "config"
// replaced and the tensors unchanged, byte for byte.
func withConfig(t testing.TB, file []byte, config string) []byte {
	return safetensorstest.WithMeta(t, file, nn.MetaConfig, &config)
}

// quickCheckpoint returns the checkpoint of a fresh trainer of
// quickConfig, optimiser state included, and its config JSON.
func quickCheckpoint(t testing.TB) ([]byte, string) {
	t.Helper()
	tr, err := NewTrainer(quickConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := nn.DecodeCheckpoint(file, path)
	if err != nil {
		t.Fatal(err)
	}
	return file, ck.Meta[nn.MetaConfig]
}

// doctoredConfigs are configs for quickCheckpoint's file that do not
// describe its tensors or are beyond the limits, and what the error must
// say.
func doctoredConfigs(t testing.TB, config string) []struct{ name, config, want string } {
	edit := func(part, field string, v any) string {
		var c map[string]map[string]any
		if err := json.Unmarshal([]byte(config), &c); err != nil {
			t.Fatal(err)
		}
		c[part][field] = v
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return []struct{ name, config, want string }{
		{"dim beyond the limit", edit("encoder", "dim", 100000), "dim 100000 is beyond the limit 8192"},
		{"dim", edit("encoder", "dim", 4096), "config encoder.dim 4096 does not match tensor encoder.proj.weight [32 32]"},
		{"conv_dim", edit("encoder", "conv_dim", 4096), "config encoder.conv_dim 4096 does not match tensor encoder.feature.conv.0.weight [32 1 10]"},
		{"layers", edit("encoder", "context_dilations", slices.Repeat([]int{1}, 128)),
			"config encoder.context_dilations (128 layers) calls for tensor encoder.context.2.conv.weight [32 32 3], which the file lacks (and 503 more)"},
		{"fewer layers", edit("encoder", "context_dilations", []int{1}), "tensor encoder.context.1.conv.bias [32] (and 3 more): the config's model has no such parameter"},
		{"negative kernel", edit("encoder", "context_kernel", -1), "context_kernel -1"},
		{"codes beyond the limit", edit("quantizer", "codes", 1<<40), "codes 1099511627776: want 2 to 65536"},
		{"codes", edit("quantizer", "codes", 4096),
			"config quantizer.groups*quantizer.codes 8192 does not match tensor quantizer.weight_proj.weight [16 32]"},
		{"quantizer dim", edit("quantizer", "dim", 8192),
			"config quantizer.dim/quantizer.groups 4096 does not match tensor quantizer.codevectors [16 8]"},
		{"groups", edit("quantizer", "groups", 1<<20), "groups 1048576: want 1 to 64"},
		{"final_dim beyond the limit", edit("pretrain", "final_dim", 100000), "final_dim 100000: want 1 to 8192"},
		{"final_dim", edit("pretrain", "final_dim", 4096), "config pretrain.final_dim 4096 does not match tensor pretrain.final_proj.weight [16 32]"},
		{"clusters", edit("pretrain", "targets", "mfcc"), "config pretrain.clusters 100 does not match tensor pretrain.project_q.weight [16 16]"},
		{"negatives", edit("pretrain", "negatives", 1_000_000_000), "negatives 1000000000: want 1 to 1024"},
		{"batch", edit("pretrain", "batch_seconds", 1e12), "batch_seconds 1e+12"},
		{"dim string", edit("encoder", "dim", "32"), "cannot unmarshal string"},
		{"dim 1e400", `{"encoder": {"dim": 1e400}}`, "cannot unmarshal number 1e400"},
		{"unknown field", edit("encoder", "dims", 32), `unknown field "dims"`},
		{"not an object", `[]`, "cannot unmarshal array"},
	}
}

// TestLoadDoctoredConfig: a pretraining checkpoint whose config (only) was
// changed is refused, for inference and for resuming, with an error naming
// the file and the field, allocating in proportion to the file.
func TestLoadDoctoredConfig(t *testing.T) {
	file, config := quickCheckpoint(t)
	path := filepath.Join(t.TempDir(), "checkpoint_last.safetensors")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrainer(path); err != nil {
		t.Fatalf("the undoctored file: %v", err)
	}
	for _, tc := range doctoredConfigs(t, config) {
		t.Run(tc.name, func(t *testing.T) {
			data := withConfig(t, file, tc.config)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			for name, load := range map[string]func() error{
				"LoadModel":   func() error { _, err := LoadModel(path); return err },
				"LoadTrainer": func() error { _, err := LoadTrainer(path); return err },
			} {
				var err error
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				err = load()
				runtime.ReadMemStats(&after)
				if err == nil || !strings.HasPrefix(err.Error(), "pretrain: ") || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %v\nwant one naming the file and saying %q", name, err, tc.want)
				}
				if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20+10*uint64(len(data)) {
					t.Errorf("%s: loading a %d-byte file allocated %d bytes", name, len(data), n)
				}
			}
		})
	}
}

// FuzzModelConfig feeds configs to the loading of a pretraining checkpoint
// over the tensors of a valid small one: an error naming the file or a
// model whose parameters are the file's tensors, allocating little.
func FuzzModelConfig(f *testing.F) {
	file, config := quickCheckpoint(f)
	base, err := nn.DecodeCheckpoint(file, "fuzz.safetensors")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(config)
	for _, tc := range doctoredConfigs(f, config) {
		f.Add(tc.config)
	}
	f.Fuzz(func(t *testing.T, config string) {
		meta := map[string]string{nn.MetaKind: Kind, nn.MetaConfig: config, nn.MetaExtra: base.Meta[nn.MetaExtra]}
		ck := &nn.Checkpoint{Path: base.Path, Tensors: base.Tensors, Meta: meta}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := modelFromCheckpoint(ck, false)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
			t.Fatalf("loading allocated %d bytes", n)
		}
		if err != nil {
			if m != nil || !strings.Contains(err.Error(), base.Path) {
				t.Fatalf("error %v (and a model: %t)", err, m != nil)
			}
			return
		}
		for _, p := range m.Params() {
			if !slices.Equal(p.Shape, base.Tensors[p.Name].Shape) {
				t.Fatalf("%s: shape %v, the file's %v", p.Name, p.Shape, base.Tensors[p.Name].Shape)
			}
		}
	})
}

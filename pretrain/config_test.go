package pretrain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigByName(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	partial := write("partial.json", `{"encoder": {"dim": 64, "context_dilations": [1, 2]}, "pretrain": {"negatives": 7}}`)
	c, err := ConfigByName(partial)
	if err != nil {
		t.Fatal(err)
	}
	tiny := TinyConfig()
	if c.Encoder.Dim != 64 || len(c.Encoder.ContextDilations) != 2 || c.Encoder.ConvDim != tiny.Encoder.ConvDim {
		t.Errorf("encoder %+v: want dim 64, 2 layers, tiny's conv dim", c.Encoder)
	}
	if c.Quantizer != tiny.Quantizer {
		t.Errorf("quantizer %+v, want tiny's", c.Quantizer)
	}
	if c.Pretrain.Negatives != 7 || c.Pretrain.LR != tiny.Pretrain.LR {
		t.Errorf("pretrain %+v: want 7 negatives and tiny's lr", c.Pretrain)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"unknown.json", `{"pretrain": {"negativs": 3}}`, "negativs"},
		{"bad.json", `{"pretrain": {"mask_prob": 2, "schedule": "cosine"}}`, "schedule"},
		{"mfcc.json", `{"encoder": {"input": "mfcc"}}`, "input kind"},
		{"two.json", `{} {}`, "more than one"},
		{"targets.json", `{"pretrain": {"targets": "codes"}}`, `targets "codes"`},
		{"teacher.json", `{"pretrain": {"targets": "c"}}`, "needs targets_from"},
		{"clusters.json", `{"pretrain": {"targets": "mfcc", "clusters": 1}}`, "clusters 1"},
		{"both.json", `{"encoder": {}, "transformer": {}}`, "give one context network"},
		{"null.json", `{"transformer": null}`, `"transformer": null`},
		{"heads.json", `{"transformer": {"num_attention_heads": 3}}`, "hidden_size 256 in 3 heads"},
		{"ema.json", `{"pretrain": {"targets": "teacher", "ema_decay": 1.5}}`, "ema_decay 1.5"},
		{"topk.json", `{"pretrain": {"targets": "teacher", "average_top_k_layers": 0}}`, "average_top_k_layers 0"},
		{"beta.json", `{"pretrain": {"loss_beta": -1}}`, "loss_beta -1"},
		{"clones.json", `{"pretrain": {"clones": 0}}`, "clones 0"},
		{"collapse.json", `{"pretrain": {"collapse_ratio": 1}}`, "collapse_ratio 1"},
	} {
		path := write(tc.name, tc.body)
		_, err := ConfigByName(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error %v, want one naming the file and %q", tc.name, err, tc.want)
		}
	}
	if _, err := ConfigByName(filepath.Join(dir, "missing.json")); err == nil || !strings.HasPrefix(err.Error(), "pretrain: ") {
		t.Errorf("missing file: %v", err)
	}
	for _, name := range []string{PresetTiny, PresetBase, PresetTinyTransformer, PresetBaseTransformer, PresetTinyData2vec, PresetTinyTransformerData2vec} {
		c, err := ConfigByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if transformer := strings.Contains(name, "-transformer"); (c.Transformer != nil) != transformer {
			t.Errorf("%s: transformer %v", name, c.Transformer)
		}
		if teacher := strings.HasSuffix(name, "-data2vec"); (c.Pretrain.Targets == TargetsTeacher) != teacher {
			t.Errorf("%s: targets %q", name, c.Pretrain.Targets)
		}
	}
	// A transformer file: what it leaves out is tiny-transformer's, and it
	// goes through the checkpoint's JSON without the unused encoder part.
	tf := write("tf.json", `{"transformer": {"num_hidden_layers": 2}, "pretrain": {"negatives": 9}}`)
	c, err = ConfigByName(tf)
	if err != nil {
		t.Fatal(err)
	}
	want := TinyTransformerConfig()
	want.Transformer.Layers, want.Pretrain.Negatives = 2, 9
	want.Encoder = c.Encoder
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config %+v\nwant %+v", c, want)
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"encoder"`) {
		t.Errorf("%s: a transformer config writes the unused encoder part", data)
	}
	back, err := ParseConfig(data)
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Errorf("read back: %+v, %v", back, err)
	}
}

func TestConfigDefaults(t *testing.T) {
	// No hidden defaults: the zero config is refused, and negative
	// values are errors, not "off".
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "lr 0") {
		t.Errorf("zero config: %v", err)
	}
	off := Tiny()
	off.DiversityWeight, off.FeaturePenalty, off.ClipNorm, off.WeightDecay, off.Warmup = 0, 0, 0, 0, 0
	if err := off.Validate(); err != nil {
		t.Errorf("zero means off: %v", err)
	}
	neg := Tiny()
	neg.FeaturePenalty, neg.ClipNorm, neg.Warmup = -1, -1, -1
	if err := neg.Validate(); err == nil || !strings.Contains(err.Error(), "feature_penalty -1") ||
		!strings.Contains(err.Error(), "clip_norm -1") || !strings.Contains(err.Error(), "warmup -1") {
		t.Errorf("negative values: %v", err)
	}
	bad := Tiny()
	bad.MaskProb, bad.Negatives, bad.Schedule, bad.CropSeconds, bad.BatchSeconds = 1.5, -3, "x", 10, 5
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"mask_prob", "negatives", "schedule", "crop_seconds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// TestConfigFormerNames: configs and checkpoints written before the
// settings took fine-tuning's names still read; naming one setting twice
// is an error.
func TestConfigFormerNames(t *testing.T) {
	c, err := ParseConfig([]byte(`{"pretrain": {"grad_clip": 3, "log_interval": 7, "valid_interval": 9}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pretrain.ClipNorm != 3 || c.Pretrain.LogEvery != 7 || c.Pretrain.ValidEvery != 9 {
		t.Errorf("former names read as %+v", c.Pretrain)
	}
	if _, err := ParseConfig([]byte(`{"pretrain": {"clip_norm": 3, "grad_clip": 4}}`)); err == nil || !strings.Contains(err.Error(), "grad_clip") {
		t.Errorf("both names: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"pretrain": {"clip_nrom": 3}}`)); err == nil || !strings.Contains(err.Error(), "clip_nrom") {
		t.Errorf("unknown field: %v", err)
	}
}

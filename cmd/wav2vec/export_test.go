package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExport(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"export", "-q", "default", filepath.Join(dir, "default.onnx")},
		{"export", "-q", filepath.Join(dir, "omitted.onnx")},
		{"export", "--caller-normalizes", filepath.Join("..", "..", "published", "testdata", "w2v2-base-ctc"), filepath.Join(dir, "base.onnx")},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		out := args[len(args)-1]
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// The first field of a ModelProto: ir_version (field 1, varint) 8.
		if len(b) < 1000 || b[0] != 0x08 || b[1] != 8 {
			t.Errorf("%s: %d bytes starting % x: not an ONNX model", out, len(b), b[:min(len(b), 4)])
		}
		if strings.Contains(strings.Join(args, " "), "caller") && !strings.Contains(errOut, "normalisation: caller") {
			t.Errorf("summary %q does not say the caller normalises", errOut)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "default.onnx")); len(b) == 0 {
		t.Fatal("no default.onnx")
	} else if o, _ := os.ReadFile(filepath.Join(dir, "omitted.onnx")); string(o) != string(b) {
		t.Error("export with the model omitted differs from export default")
	}
}

func TestExportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"export"},
		{"export", "a", "b", "c"},
		{"export", "--format", "tflite", "default", "x.onnx"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, errOut := runCLI(t, "export", filepath.Join(t.TempDir(), "missing.safetensors"), filepath.Join(t.TempDir(), "x.onnx")); code != exitFail || !strings.HasPrefix(errOut, "wav2vec: ") {
		t.Errorf("missing model: exit %d, %q", code, errOut)
	}
}

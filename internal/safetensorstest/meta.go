// Package safetensorstest rewrites the metadata of safetensors files for
// tests that doctor a checkpoint: the tensors stay unchanged, byte for byte.
package safetensorstest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// WithMeta returns file with the metadata key set to value (deleted when
// value is nil) and the tensors unchanged.
func WithMeta(t testing.TB, file []byte, key string, value *string) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(file[:8])
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	if raw, ok := hdr["__metadata__"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
	}
	if value == nil {
		delete(meta, key)
	} else {
		meta[key] = *value
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	hdr["__metadata__"] = raw
	js, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, bytes.Repeat([]byte{' '}, (8-len(js)%8)%8)...)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	return append(append(out, js...), file[8+n:]...)
}

// Meta returns the metadata key of file ("" when absent).
func Meta(t testing.TB, file []byte, key string) string {
	t.Helper()
	n := binary.LittleEndian.Uint64(file[:8])
	var hdr struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(file[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Meta[key]
}

package nn

import (
	"bytes"
	"fmt"
)

// DecodeCheckpoint reads a checkpoint held in memory (a file embedded with
// go:embed, say); name stands for the file in messages and in the
// Checkpoint's Path. Like LoadCheckpoint it checks the header against the
// data's size first and never panics on damaged data.
func DecodeCheckpoint(data []byte, name string) (*Checkpoint, error) {
	tensors, meta, err := readSafetensors(bytes.NewReader(data), int64(len(data)), name)
	if err != nil {
		return nil, fmt.Errorf("nn: decoding checkpoint: %w", err)
	}
	if meta == nil {
		meta = map[string]string{}
	}
	return &Checkpoint{Path: name, Tensors: tensors, Meta: meta}, nil
}

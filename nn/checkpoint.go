package nn

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/wav2vec-go/wav2vec/internal/atomicfile"
)

// Metadata keys of a checkpoint. The values are strings; the trainer stores
// JSON under them with PutMetaJSON. MetaExtra is written by SaveCheckpoint.
const (
	MetaKind       = "kind"        // "pretrain" or "asr"
	MetaConfig     = "config"      // the model configuration, JSON
	MetaVocab      = "vocab"       // the output vocabulary, JSON
	MetaStep       = "step"        // updates done, JSON number
	MetaTrainState = "train_state" // what the trainer needs to resume, JSON
	MetaExtra      = "nn.extra"    // JSON list of the tensors that are not parameters
)

// Checkpoint is the content of a checkpoint file.
type Checkpoint struct {
	Path    string                 // the file it was read from
	Tensors map[string]SavedTensor // by name: parameters and extra tensors
	Meta    map[string]string      // the __metadata__ strings
}

// SaveCheckpoint writes params, the extra tensors (such as optimiser state,
// stored as 1-D F32 tensors) and the metadata to path as a safetensors file
// that Python's safetensors library reads. Tensors are written in name order.
// The file is written to a temporary file in the same directory, synced and
// renamed over path, and the directory is synced, so a crash leaves either
// the old file or the new one. Names must be unique across params and extra.
func SaveCheckpoint(path string, params []*Param, extra map[string][]float32, meta map[string]string) (err error) {
	tensors, extraNames, err := checkpointTensors(params, extra)
	if err != nil {
		return fmt.Errorf("nn: %s: %w", path, err)
	}
	m := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		m[k] = v
	}
	delete(m, MetaExtra)
	if len(extraNames) > 0 {
		if err := PutMetaJSON(m, MetaExtra, extraNames); err != nil {
			return err
		}
	}

	err = atomicfile.Write(path, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := writeSafetensors(bw, tensors, m); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("nn: saving checkpoint %s: %w", path, err)
	}
	return nil
}

// checkpointTensors lists what SaveCheckpoint writes, checking the names and
// sizes, and returns the sorted names of the extra tensors.
func checkpointTensors(params []*Param, extra map[string][]float32) ([]namedTensor, []string, error) {
	var errs []error
	seen := map[string]bool{}
	var tensors []namedTensor
	for _, p := range params {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		switch {
		case p.Name == "" || p.Name == "__metadata__":
			errs = append(errs, fmt.Errorf("parameter name %q not allowed", p.Name))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("parameter %s listed twice", p.Name))
		case n != len(p.Data):
			errs = append(errs, fmt.Errorf("parameter %s: shape %v holds %d values, has %d", p.Name, p.Shape, n, len(p.Data)))
		}
		seen[p.Name] = true
		tensors = append(tensors, namedTensor{p.Name, p.Shape, p.Data})
	}
	var names []string
	for name, data := range extra {
		switch {
		case name == "" || name == "__metadata__":
			errs = append(errs, fmt.Errorf("extra tensor name %q not allowed", name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("extra tensor %s has the name of a parameter", name))
		}
		names = append(names, name)
		tensors = append(tensors, namedTensor{name, []int{len(data)}, data})
	}
	slices.Sort(names)
	return tensors, names, errors.Join(errs...)
}

// LoadCheckpoint reads a safetensors file. It checks the header against the
// file's size before reading any data, and a damaged file gives an error
// naming it, never a panic.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: loading checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nn: loading checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("nn: loading checkpoint %s: not a regular file", path)
	}
	tensors, meta, err := readSafetensors(f, st.Size(), path)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		meta = map[string]string{}
	}
	return &Checkpoint{Path: path, Tensors: tensors, Meta: meta}, nil
}

// MetaJSON decodes the JSON value stored under key in the metadata into v.
func (c *Checkpoint) MetaJSON(key string, v any) error {
	return getMetaJSON(c.Meta, key, v, "nn: "+c.Path+": ")
}

// LoadInto copies the checkpoint's tensors into the parameters of the same
// name. Every parameter found must have the same shape and a float dtype. In
// strict mode every parameter must be present and every tensor of the file
// must be a parameter or one of the extra tensors SaveCheckpoint recorded;
// otherwise parameters absent from the file keep their values (loading a
// pretrained body into a model with a new head). On error no parameter is
// changed, and the error names the file and every mismatching tensor.
func (c *Checkpoint) LoadInto(params []*Param, strict bool) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("nn: %s: "+format, append([]any{c.Path}, args...)...))
	}
	want := make(map[string]bool, len(params))
	for _, p := range params {
		want[p.Name] = true
		t, ok := c.Tensors[p.Name]
		switch {
		case !ok:
			if strict {
				bad("tensor %s missing (model parameter of shape %v)", p.Name, p.Shape)
			}
		case t.Data == nil:
			bad("tensor %s has dtype %s, want a float dtype (F32)", p.Name, t.DType)
		case !slices.Equal(t.Shape, p.Shape):
			bad("tensor %s has shape %v, the model wants %v", p.Name, t.Shape, p.Shape)
		case len(t.Data) != len(p.Data):
			bad("tensor %s has %d values, the model's parameter %d", p.Name, len(t.Data), len(p.Data))
		}
	}
	if strict {
		extra, err := c.extraNames()
		if err != nil {
			errs = append(errs, err)
		}
		for _, name := range extra {
			want[name] = true
		}
		var unexpected []string
		for name := range c.Tensors {
			if !want[name] {
				unexpected = append(unexpected, name)
			}
		}
		slices.Sort(unexpected)
		for _, name := range unexpected {
			bad("unexpected tensor %s (shape %v): the model has no such parameter", name, c.Tensors[name].Shape)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, p := range params {
		if t, ok := c.Tensors[p.Name]; ok {
			copy(p.Data, t.Data)
		}
	}
	return nil
}

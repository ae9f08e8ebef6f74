package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AdamState is a copy of Adam's state: per parameter name, the number of
// updates applied and the two moment estimates. Restoring it into an Adam over
// the same parameters makes training continue bit-identically.
type AdamState struct {
	Steps map[string]int64
	M, V  map[string][]float32
}

// State returns a copy of the optimiser's state.
func (a *Adam) State() AdamState {
	s := AdamState{Steps: map[string]int64{}, M: map[string][]float32{}, V: map[string][]float32{}}
	for i, p := range a.params {
		s.Steps[p.Name] = a.steps[i]
		s.M[p.Name] = slices.Clone(a.m[i])
		s.V[p.Name] = slices.Clone(a.v[i])
	}
	return s
}

// SetState restores a state returned by State. Every parameter must be
// present with moments of its size; on error nothing is changed and every
// problem is reported.
func (a *Adam) SetState(s AdamState) error { return a.setState(s, "nn: adam state: ") }

func (a *Adam) setState(s AdamState, prefix string) error {
	var errs []error
	for _, p := range a.params {
		st, ok := s.Steps[p.Name]
		m, okM := s.M[p.Name]
		v, okV := s.V[p.Name]
		switch {
		case !ok || !okM || !okV:
			errs = append(errs, fmt.Errorf("%sparameter %s missing", prefix, p.Name))
		case st < 0:
			errs = append(errs, fmt.Errorf("%sparameter %s: negative step count %d", prefix, p.Name, st))
		case len(m) != len(p.Data) || len(v) != len(p.Data):
			errs = append(errs, fmt.Errorf("%sparameter %s: moments of size %d and %d, want %d", prefix, p.Name, len(m), len(v), len(p.Data)))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i, p := range a.params {
		a.steps[i] = s.Steps[p.Name]
		copy(a.m[i], s.M[p.Name])
		copy(a.v[i], s.V[p.Name])
	}
	return nil
}

// Checkpoint names of the optimiser's state: the moments are the tensors
// AdamMomentPrefix+"m."+name and AdamMomentPrefix+"v."+name, the step counts
// a JSON object {name: steps} under the metadata key MetaOptimizer.
const (
	AdamMomentPrefix = "optim."
	MetaOptimizer    = "optimizer"
)

// SaveTo adds the optimiser's state to the arguments of SaveCheckpoint: the
// moments to extra, the step counts to meta.
func (a *Adam) SaveTo(extra map[string][]float32, meta map[string]string) error {
	s := a.State()
	for name := range s.Steps {
		extra[AdamMomentPrefix+"m."+name] = s.M[name]
		extra[AdamMomentPrefix+"v."+name] = s.V[name]
	}
	return PutMetaJSON(meta, MetaOptimizer, s.Steps)
}

// LoadFrom restores the state that SaveTo stored in a checkpoint.
func (a *Adam) LoadFrom(c *Checkpoint) error {
	s := AdamState{M: map[string][]float32{}, V: map[string][]float32{}}
	if err := c.MetaJSON(MetaOptimizer, &s.Steps); err != nil {
		return err
	}
	for name, t := range c.Tensors {
		if rest, ok := strings.CutPrefix(name, AdamMomentPrefix+"m."); ok {
			s.M[rest] = t.Data
		} else if rest, ok := strings.CutPrefix(name, AdamMomentPrefix+"v."); ok {
			s.V[rest] = t.Data
		}
	}
	return a.setState(s, "nn: "+c.Path+": adam state: ")
}

// PutMetaJSON stores v, encoded as JSON, under key in meta.
func PutMetaJSON(meta map[string]string, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("nn: metadata %q: %w", key, err)
	}
	meta[key] = string(b)
	return nil
}

// GetMetaJSON decodes the JSON value stored under key in meta into v.
func GetMetaJSON(meta map[string]string, key string, v any) error {
	return getMetaJSON(meta, key, v, "nn: ")
}

func getMetaJSON(meta map[string]string, key string, v any, prefix string) error {
	s, ok := meta[key]
	if !ok {
		return fmt.Errorf("%smetadata %q missing", prefix, key)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("%smetadata %q: %w", prefix, key, err)
	}
	return nil
}

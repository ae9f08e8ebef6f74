package nn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Dim is one dimension of a parameter that a model's configuration calls
// for: its size and the configuration field it comes from, as a message
// names it ("encoder.dim"), or "" for a fixed size.
type Dim struct {
	Size  int
	Field string
}

// ParamShape is a parameter that a model's configuration calls for, known
// before anything is allocated: its name, its dimensions, and the field
// that calls for the parameter at all ("encoder.context_dilations (12
// layers)"; "" for a parameter every model has).
type ParamShape struct {
	Name  string
	Dims  []Dim
	Field string
}

// Shape returns the sizes of the dimensions.
func (p ParamShape) Shape() []int {
	s := make([]int, len(p.Dims))
	for i, d := range p.Dims {
		s[i] = d.Size
	}
	return s
}

// CheckShapes compares the parameters a configuration calls for with the
// checkpoint's tensors before the model is built, so that a configuration
// that does not describe the file (a damaged or doctored "config") is
// refused without allocating anything the size of the model. Every
// parameter of want must be a tensor of the file of the same shape, and
// every tensor whose name starts with one of the prefixes own must be in
// want or be one of the extra tensors SaveCheckpoint recorded. The error
// names the file and, for each configuration field at fault, the first
// tensor that disagrees with it:
//
//	nn: m.safetensors: config encoder.dim 4096 does not match tensor encoder.proj.weight [256 80]
func (c *Checkpoint) CheckShapes(want []ParamShape, own ...string) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("nn: %s: "+format, append([]any{c.Path}, args...)...))
	}
	reported := map[string]bool{} // fields already reported
	missing := map[string][]ParamShape{}
	var missingOrder []string
	wanted := make(map[string]bool, len(want))
	for _, p := range want {
		wanted[p.Name] = true
		t, ok := c.Tensors[p.Name]
		if !ok {
			key := p.Field
			if key == "" {
				key = p.Name
			}
			if missing[key] == nil {
				missingOrder = append(missingOrder, key)
			}
			missing[key] = append(missing[key], p)
			continue
		}
		fields, same := mismatches(p, t.Shape)
		for _, i := range fields {
			if f := p.Dims[i].Field; !reported[f] {
				reported[f] = true
				bad("config %s %d does not match tensor %s %v", f, p.Dims[i].Size, p.Name, t.Shape)
			}
		}
		if !same && len(fields) == 0 {
			bad("tensor %s has shape %v, the config calls for %v", p.Name, t.Shape, p.Shape())
		}
	}
	for _, key := range missingOrder {
		ps := missing[key]
		more := ""
		if len(ps) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(ps)-1)
		}
		if ps[0].Field == "" {
			bad("tensor %s %v missing%s", ps[0].Name, ps[0].Shape(), more)
		} else {
			bad("config %s calls for tensor %s %v, which the file lacks%s", key, ps[0].Name, ps[0].Shape(), more)
		}
	}
	if len(own) > 0 {
		extra, err := c.extraNames()
		if err != nil {
			errs = append(errs, err)
		}
		for _, name := range extra {
			wanted[name] = true
		}
		var left []string
		for name := range c.Tensors {
			if !wanted[name] && slices.ContainsFunc(own, func(p string) bool { return strings.HasPrefix(name, p) }) {
				left = append(left, name)
			}
		}
		if len(left) > 0 {
			slices.Sort(left)
			more := ""
			if len(left) > 1 {
				more = fmt.Sprintf(" (and %d more)", len(left)-1)
			}
			bad("tensor %s %v%s: the config's model has no such parameter", left[0], c.Tensors[left[0]].Shape, more)
		}
	}
	return errors.Join(errs...)
}

// mismatches compares shape with p's: the indices of the dimensions with a
// field that differ, and whether the shapes are the same.
func mismatches(p ParamShape, shape []int) (fields []int, same bool) {
	if len(shape) != len(p.Dims) {
		return nil, false
	}
	same = true
	for i, d := range p.Dims {
		if shape[i] != d.Size {
			same = false
			if d.Field != "" {
				fields = append(fields, i)
			}
		}
	}
	return fields, same
}

// extraNames returns the names of the extra tensors (MetaExtra) that
// SaveCheckpoint recorded.
func (c *Checkpoint) extraNames() ([]string, error) {
	var extra []string
	if _, ok := c.Meta[MetaExtra]; !ok {
		return nil, nil
	}
	if err := c.MetaJSON(MetaExtra, &extra); err != nil {
		return nil, err
	}
	return extra, nil
}

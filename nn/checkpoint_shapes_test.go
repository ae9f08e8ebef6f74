package nn

import (
	"strings"
	"testing"
)

// testShapes is what a config would call for to describe testParams:
// conv [C, 1, K], its bias [C], a scalar, head [V, C].
func testShapes(c, k, v int, layers string) []ParamShape {
	cd := Dim{Size: c, Field: "cfg.channels"}
	vd := Dim{Size: v, Field: "cfg.vocab"}
	return []ParamShape{
		{Name: "encoder.conv.0.weight", Dims: []Dim{cd, {Size: 1}, {Size: k, Field: "cfg.kernel"}}, Field: layers},
		{Name: "encoder.conv.0.bias", Dims: []Dim{cd}, Field: layers},
		{Name: "a.scalar", Dims: []Dim{{Size: 1}}},
		{Name: "head.weight", Dims: []Dim{vd, cd}},
	}
}

func TestCheckShapes(t *testing.T) {
	path, _ := writeTestCheckpoint(t, t.TempDir())
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	twoLayers := append(testShapes(4, 3, 5, "cfg.layers (2)"),
		ParamShape{Name: "encoder.conv.1.weight", Dims: []Dim{{Size: 4}, {Size: 4}, {Size: 3}}, Field: "cfg.layers (2)"},
		ParamShape{Name: "encoder.conv.1.bias", Dims: []Dim{{Size: 4}}, Field: "cfg.layers (2)"})
	tests := []struct {
		name string
		want []ParamShape
		own  []string
		meta map[string]string // replaces the metadata when set
		errs []string          // substrings of the error; none: no error
	}{
		{"match", testShapes(4, 3, 5, ""), nil, nil, nil},
		{"match, own prefixes", testShapes(4, 3, 5, ""), []string{"encoder.", "head.", "optim.", "z."}, nil, nil},
		{"wide", testShapes(100000, 3, 5, ""), nil, nil,
			[]string{"ck.safetensors: config cfg.channels 100000 does not match tensor encoder.conv.0.weight [4 1 3]"}},
		{"each field once", testShapes(7, 9, 6, ""), nil, nil,
			[]string{"config cfg.channels 7 does not match tensor encoder.conv.0.weight [4 1 3]",
				"config cfg.kernel 9 does not match", "config cfg.vocab 6 does not match tensor head.weight [5 4]"}},
		{"fixed size", []ParamShape{{Name: "head.weight", Dims: []Dim{{Size: 5}, {Size: 3}}}}, nil, nil,
			[]string{"tensor head.weight has shape [5 4], the config calls for [5 3]"}},
		{"rank", []ParamShape{{Name: "head.weight", Dims: []Dim{{Size: 20, Field: "cfg.x"}}}}, nil, nil,
			[]string{"tensor head.weight has shape [5 4], the config calls for [20]"}},
		{"more layers", twoLayers, nil, nil,
			[]string{"config cfg.layers (2) calls for tensor encoder.conv.1.weight [4 4 3], which the file lacks (and 1 more)"}},
		{"missing", append(testShapes(4, 3, 5, ""), ParamShape{Name: "mask", Dims: []Dim{{Size: 2}}}), nil, nil,
			[]string{"tensor mask [2] missing"}},
		{"fewer layers", testShapes(4, 3, 5, "")[2:], []string{"encoder.", "head."}, nil,
			[]string{"tensor encoder.conv.0.bias [4] (and 1 more): the config's model has no such parameter"}},
		{"unlisted extra", testShapes(4, 3, 5, ""), []string{"optim."}, map[string]string{},
			[]string{"tensor optim.m.x [3]: the config's model has no such parameter"}},
		{"bad extra list", testShapes(4, 3, 5, ""), []string{"optim."}, map[string]string{MetaExtra: `{"a": 1}`},
			[]string{`metadata "nn.extra"`, "tensor optim.m.x [3]: the config's model has no such parameter"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *ck
			if tc.meta != nil {
				c.Meta = tc.meta
			}
			err := c.CheckShapes(tc.want, tc.own...)
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.errs) {
				t.Errorf("%d problems reported, want %d:\n%v", n, len(tc.errs), err)
			}
			for _, w := range tc.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not say %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "nn: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

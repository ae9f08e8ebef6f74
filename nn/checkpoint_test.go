package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func testParams(seed uint64) []*Param {
	rng := rand.New(rand.NewPCG(seed, 1))
	ps := []*Param{NewParam("encoder.conv.0.weight", 4, 1, 3), NewParam("encoder.conv.0.bias", 4), NewParam("a.scalar", 1), NewParam("head.weight", 5, 4)}
	for _, p := range ps {
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64())
		}
	}
	// Values whose bits must survive.
	ps[1].Data[0] = float32(math.Copysign(0, -1))
	ps[1].Data[1] = math.Float32frombits(1) // smallest subnormal
	ps[1].Data[2] = float32(math.Inf(-1))
	ps[1].Data[3] = math.Float32frombits(0x7fc00123) // a NaN with payload
	return ps
}

func writeTestCheckpoint(t testing.TB, dir string) (string, []*Param) {
	path := filepath.Join(dir, "ck.safetensors")
	ps := testParams(1)
	meta := map[string]string{MetaKind: "asr", "note": `quote " and <tag> & ünïcode`}
	if err := PutMetaJSON(meta, MetaVocab, []string{"<blank>", "|", "A"}); err != nil {
		t.Fatal(err)
	}
	extra := map[string][]float32{"optim.m.x": {1, 2, 3}, "z.extra": {}}
	if err := SaveCheckpoint(path, ps, extra, meta); err != nil {
		t.Fatal(err)
	}
	return path, ps
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, ps := writeTestCheckpoint(t, dir)
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh := testParams(2)
	if err := ck.LoadInto(fresh, true); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		for j := range p.Data {
			if math.Float32bits(p.Data[j]) != math.Float32bits(fresh[i].Data[j]) {
				t.Errorf("%s[%d]: saved bits %08x, loaded %08x", p.Name, j, math.Float32bits(p.Data[j]), math.Float32bits(fresh[i].Data[j]))
			}
		}
		if got := ck.Tensors[p.Name]; got.DType != "F32" || !equalInts(got.Shape, p.Shape) {
			t.Errorf("%s: dtype %s shape %v", p.Name, got.DType, got.Shape)
		}
	}
	if got := ck.Tensors["optim.m.x"].Data; len(got) != 3 || got[2] != 3 {
		t.Errorf("extra tensor: %v", got)
	}
	if got := ck.Tensors["z.extra"]; len(got.Data) != 0 || !equalInts(got.Shape, []int{0}) {
		t.Errorf("empty extra tensor: %+v", got)
	}
	if ck.Meta[MetaKind] != "asr" || ck.Meta["note"] != `quote " and <tag> & ünïcode` {
		t.Errorf("metadata %v", ck.Meta)
	}
	var vocab []string
	if err := ck.MetaJSON(MetaVocab, &vocab); err != nil || len(vocab) != 3 || vocab[2] != "A" {
		t.Errorf("vocab %v, %v", vocab, err)
	}
	if err := ck.MetaJSON("absent", &vocab); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing key: error %v, want one naming the file", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the checkpoint (no temp files)", len(entries))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCheckpointDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files [][]byte
	for i := range 3 {
		path := filepath.Join(dir, "ck"+strconv.Itoa(i))
		extra := map[string][]float32{"e1": {1}, "e2": {2}, "e3": {3}, "e4": {4}}
		meta := map[string]string{"a": "1", "b": "2", "c": "3"}
		if err := SaveCheckpoint(path, testParams(1), extra, meta); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) || !bytes.Equal(files[0], files[2]) {
		t.Error("the same checkpoint saved twice gives different bytes")
	}
	n := binary.LittleEndian.Uint64(files[0])
	if n%8 != 0 || files[0][8+n-1] == 0 {
		t.Errorf("header length %d not padded to 8 with spaces", n)
	}
}

func TestCheckpointOverwrite(t *testing.T) {
	path, _ := writeTestCheckpoint(t, t.TempDir())
	p := paramWith("only", 42)
	if err := SaveCheckpoint(path, []*Param{p}, nil, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Tensors) != 1 || ck.Tensors["only"].Data[0] != 42 || len(ck.Meta) != 0 {
		t.Errorf("after overwrite: %+v", ck)
	}
	if err := SaveCheckpoint(filepath.Join(t.TempDir(), "no", "such", "dir", "x"), []*Param{p}, nil, nil); err == nil {
		t.Error("saving into a missing directory: no error")
	}
}

func TestSaveCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	bad := NewParam("bad", 2, 2)
	bad.Data = bad.Data[:3]
	tests := []struct {
		name   string
		params []*Param
		extra  map[string][]float32
		want   []string
	}{
		{"duplicate", []*Param{NewParam("x", 1), NewParam("x", 1)}, nil, []string{"x listed twice"}},
		{"size", []*Param{bad}, nil, []string{"bad: shape [2 2] holds 4 values, has 3"}},
		{"collision", []*Param{NewParam("x", 1)}, map[string][]float32{"x": {1}}, []string{"extra tensor x has the name of a parameter"}},
		{"reserved", []*Param{NewParam("__metadata__", 1)}, map[string][]float32{"": {1}}, []string{`"__metadata__" not allowed`, `extra tensor name "" not allowed`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			err := SaveCheckpoint(path, tc.params, tc.extra, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a file was written: %v", err)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files left behind", len(entries))
	}
}

func TestLoadIntoMismatch(t *testing.T) {
	path, _ := writeTestCheckpoint(t, t.TempDir())
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	ck.Tensors["ints"] = SavedTensor{DType: "I64", Shape: []int{2}}
	model := []*Param{
		NewParam("encoder.conv.0.weight", 4, 3), // wrong shape
		NewParam("encoder.conv.0.bias", 4),
		NewParam("new.head", 2), // not in the file
		NewParam("ints", 2),     // not a float dtype
	}
	for _, p := range model {
		p.Data[0] = 9
	}
	err = ck.LoadInto(model, true)
	if err == nil {
		t.Fatal("strict: no error")
	}
	for _, want := range []string{
		"tensor encoder.conv.0.weight has shape [4 1 3], the model wants [4 3]",
		"tensor new.head missing",
		"tensor ints has dtype I64",
		"unexpected tensor a.scalar",
		"unexpected tensor head.weight",
	} {
		if !strings.Contains(err.Error(), path+": "+want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "optim.m.x") {
		t.Errorf("extra tensor reported as unexpected:\n%v", err)
	}
	for _, p := range model {
		if p.Data[0] != 9 {
			t.Errorf("%s changed by a failed load", p.Name)
		}
	}
	// Non-strict: missing and unexpected tensors are fine, bad shapes are not.
	err = ck.LoadInto(model[1:3], false)
	if err != nil {
		t.Errorf("non-strict: %v", err)
	}
	if model[1].Data[0] == 9 || model[2].Data[0] != 9 {
		t.Errorf("non-strict load: bias %g (want loaded), new head %g (want kept)", model[1].Data[0], model[2].Data[0])
	}
	if err := ck.LoadInto(model[:1], false); err == nil {
		t.Error("non-strict with a wrong shape: no error")
	}
}

// rawFile assembles a safetensors file from a header and data.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestLoadCheckpointInvalid(t *testing.T) {
	f8 := make([]byte, 8)
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, 1<<62)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte header length"},
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte"},
		{"huge header", hugeLen, "exceeds the file size"},
		{"header past end", rawFile(`{}`, nil)[:9], "exceeds the file size"},
		{"not json", rawFile(`nope`, nil), "header is not a JSON object"},
		{"array", rawFile(`[1]`, nil), "header is not a JSON object"},
		{"unterminated", rawFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}`, f8[:4]), "header"},
		{"trailing", rawFile(`{} {}`, nil), "data after the header"},
		{"dtype", rawFile(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, f8[:4]), `unknown dtype "F33"`},
		{"field case", rawFile(`{"a":{"dtYpe":"F32","shape":[1],"data_offsets":[0,4]}}`, f8[:4]), `unknown dtype ""`},
		{"no shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f8[:4]), "no shape"},
		{"offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, f8[:4]), "data_offsets has 1 values"},
		{"shape vs offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f8[:4]), "needs 8 bytes, data_offsets give 4"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f8[:4]), "negative dimension"},
		{"float dim", rawFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f8[:4]), `tensor "a"`},
		{"overflow", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, f8[:4]), "larger than the file"},
		{"out of range", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f8[:4]), "outside the 4 bytes"},
		{"reversed", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, f8[:4]), "outside"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f8), "starts at byte 4, want 0"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f8), "starts at byte 4, want 8"},
		{"extra data", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f8), "cover 4 bytes of data, the file holds 8"},
		{"duplicate", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f8), `names "a" twice`},
		{"metadata type", rawFile(`{"__metadata__":{"a":1}}`, nil), "not a map of strings"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			ck, err := LoadCheckpoint(path)
			if err == nil || ck != nil {
				t.Fatalf("got checkpoint %v and error %v, want only an error", ck, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "nn: ") || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want prefix nn:, the path and %q", err, tc.want)
			}
		})
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if _, err := LoadCheckpoint(dir); err == nil {
		t.Error("a directory: no error")
	}
}

func TestLoadCheckpointTruncated(t *testing.T) {
	dir := t.TempDir()
	path, _ := writeTestCheckpoint(t, dir)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut")
	for n := 0; n < len(full); n++ {
		if err := os.WriteFile(cut, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if ck, err := LoadCheckpoint(cut); err == nil || ck != nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(full))
		}
	}
	// A reader that ends early although the size says otherwise.
	_, _, err = readSafetensors(bytes.NewReader(full[:len(full)-3]), int64(len(full)), "short")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short read: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestLoadCheckpointOtherDTypes(t *testing.T) {
	var data []byte
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(-2.5))
	data = binary.LittleEndian.AppendUint16(data, 0x3c00) // F16 1
	data = binary.LittleEndian.AppendUint16(data, 0xc000) // F16 -2
	data = binary.LittleEndian.AppendUint16(data, 0x0001) // F16 2^-24
	data = binary.LittleEndian.AppendUint16(data, 0x7c00) // F16 +Inf
	data = binary.LittleEndian.AppendUint16(data, 0x3f80) // BF16 1
	data = append(data, 7, 0, 0, 0, 0, 0, 0, 0)           // I64 7
	header := `{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},` +
		`"h":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},` +
		`"b":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},` +
		`"i":{"dtype":"I64","shape":[],"data_offsets":[18,26]}}`
	path := filepath.Join(t.TempDir(), "x")
	os.WriteFile(path, rawFile(header, data), 0o644)
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{"d": {-2.5}, "h": {1, -2, 1.0 / (1 << 24), float32(math.Inf(1))}, "b": {1}}
	for name, w := range want {
		got := ck.Tensors[name].Data
		if len(got) != len(w) {
			t.Fatalf("%s: %v, want %v", name, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s[%d] = %g, want %g", name, i, got[i], w[i])
			}
		}
	}
	if i := ck.Tensors["i"]; i.DType != "I64" || i.Data != nil || len(i.Shape) != 0 {
		t.Errorf("I64 tensor: %+v", i)
	}
	p := NewParam("h", 2, 2)
	if err := ck.LoadInto([]*Param{p}, false); err != nil || p.Data[1] != -2 {
		t.Errorf("loading F16 into a parameter: %v, %v", err, p.Data)
	}
}

func TestFloat16All(t *testing.T) {
	// Every finite half converts exactly: check against the definition.
	for h := range 1 << 16 {
		e, f := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch e {
		case 0x1f:
			continue
		case 0:
			want = float64(f) * math.Pow(2, -24)
		default:
			want = (1 + float64(f)/1024) * math.Pow(2, float64(e-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if got := float16to32(uint16(h)); float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("half %04x: %g, want %g", h, got, want)
		}
	}
	if !math.IsNaN(float64(float16to32(0x7e00))) || !math.IsInf(float64(float16to32(0xfc00)), -1) {
		t.Error("half NaN or -Inf")
	}
}

// TestCheckpointPythonReader parses our file with a small pure-Python reader
// (testdata/read_safetensors.py) that follows the safetensors format.
func TestCheckpointPythonReader(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	path, ps := writeTestCheckpoint(t, t.TempDir())
	out, err := exec.Command(py, "testdata/read_safetensors.py", path).Output()
	if err != nil {
		t.Fatalf("python reader: %v", err)
	}
	var got struct {
		Metadata map[string]string
		Tensors  map[string]struct {
			DType  string
			Shape  []int
			Values []string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata[MetaKind] != "asr" || got.Metadata[MetaExtra] != `["optim.m.x","z.extra"]` {
		t.Errorf("metadata %v", got.Metadata)
	}
	if len(got.Tensors) != len(ps)+2 {
		t.Errorf("python sees %d tensors, want %d", len(got.Tensors), len(ps)+2)
	}
	for _, p := range ps {
		pt := got.Tensors[p.Name]
		if !equalInts(pt.Shape, p.Shape) || len(pt.Values) != len(p.Data) {
			t.Fatalf("%s: python shape %v with %d values", p.Name, pt.Shape, len(pt.Values))
		}
		for i, s := range pt.Values {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			w := float64(p.Data[i])
			if (math.IsNaN(w) && !math.IsNaN(v)) || (!math.IsNaN(w) && (v != w || math.Signbit(v) != math.Signbit(w))) {
				t.Errorf("%s[%d]: python %s, want %g", p.Name, i, s, w)
			}
		}
	}
}

func FuzzLoadCheckpoint(f *testing.F) {
	path, _ := writeTestCheckpoint(f, f.TempDir())
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"__metadata__":{"k":"v"}}`, []byte{0, 0x3c}))
	f.Add(rawFile(`{}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		tensors, meta, err := readSafetensors(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			if tensors != nil || meta != nil {
				t.Fatal("tensors and an error together")
			}
			return
		}
		var total int64
		for name, tt := range tensors {
			n := int64(1)
			for _, d := range tt.Shape {
				n *= int64(d)
			}
			if tt.Data != nil && int64(len(tt.Data)) != n {
				t.Fatalf("%s: %d values for shape %v", name, len(tt.Data), tt.Shape)
			}
			total += n * dtypeSizes[tt.DType]
		}
		if total > int64(len(b)) {
			t.Fatalf("%d bytes of tensors from a %d-byte file", total, len(b))
		}
		ck := &Checkpoint{Path: "fuzz", Tensors: tensors, Meta: meta}
		var ps []*Param
		for name, tt := range tensors {
			if len(tt.Shape) > 0 && len(tt.Data) > 0 {
				ps = append(ps, NewParam(name, tt.Shape...))
			}
		}
		if err := ck.LoadInto(ps, false); err != nil {
			t.Fatalf("LoadInto a matching model: %v", err)
		}
	})
}

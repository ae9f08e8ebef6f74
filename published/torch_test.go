package published

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTorchZip writes a torch.save-like archive: data.pkl and storages.
func writeTorchZip(t testing.TB, pkl []byte, storages map[string][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.pt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	w, _ := z.Create("archive/data.pkl")
	w.Write(pkl)
	for k, b := range storages {
		w, _ := z.Create("archive/data/" + k)
		w.Write(b)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// pickleOf assembles a protocol-2 pickle from opcodes and arguments.
func pickleOf(parts ...any) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x80, 2})
	for _, p := range parts {
		switch v := p.(type) {
		case string: // raw opcodes
			b.WriteString(v)
		case []byte:
			b.Write(v)
		}
	}
	b.WriteByte('.')
	return b.Bytes()
}

// unicode is BINUNICODE s.
func unicode(s string) []byte {
	b := []byte{'X', 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], uint32(len(s)))
	return append(b, s...)
}

func binint(n uint32) []byte {
	b := []byte{'J', 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], n)
	return b
}

// tensorPickle is {"w": _rebuild_tensor_v2(storage(key, numel), offset,
// shape, stride, False, OrderedDict())}, as torch.save writes a state dict.
func tensorPickle(numel, offset uint32, shape, stride []uint32) []byte {
	tuple := func(xs []uint32) []byte {
		var b []byte
		b = append(b, '(')
		for _, x := range xs {
			b = append(b, binint(x)...)
		}
		return append(b, 't')
	}
	var p []any
	p = append(p, "}", unicode("w"))
	p = append(p, "ctorch._utils\n_rebuild_tensor_v2\n(")
	// persistent id ('storage', torch.FloatStorage, '0', 'cpu', numel)
	p = append(p, "(", unicode("storage"), "ctorch\nFloatStorage\n", unicode("0"), unicode("cpu"), binint(numel), "tQ")
	p = append(p, binint(offset), tuple(shape), tuple(stride), "\x89", "ccollections\nOrderedDict\n)R", "tR", "s")
	return pickleOf(p...)
}

// TestTorchReader: a well-formed state dict reads; a hostile or broken one
// is an error, never a panic or an allocation beyond the file.
func TestTorchReader(t *testing.T) {
	data := make([]byte, 4*6)
	for i := range 6 {
		binary.LittleEndian.PutUint32(data[4*i:], 0x3f800000+uint32(i)<<20)
	}
	good := writeTorchZip(t, tensorPickle(6, 0, []uint32{2, 3}, []uint32{3, 1}), map[string][]byte{"0": data})
	tf, err := openTorch(good)
	if err != nil {
		t.Fatal(err)
	}
	w := dictEntries(tf.root)[0].Value.(*torchTensor)
	vals, err := tf.values(w)
	tf.Close()
	if err != nil || len(vals) != 6 || vals[0] != 1 {
		t.Fatalf("values %v, %v", vals, err)
	}
	// A transposed view reads the storage by its strides.
	tr := writeTorchZip(t, tensorPickle(6, 0, []uint32{3, 2}, []uint32{1, 3}), map[string][]byte{"0": data})
	tf, err = openTorch(tr)
	if err != nil {
		t.Fatal(err)
	}
	tv, err := tf.values(dictEntries(tf.root)[0].Value.(*torchTensor))
	tf.Close()
	if err != nil || tv[1] != vals[3] || tv[2] != vals[1] {
		t.Fatalf("transposed view %v of %v (%v)", tv, vals, err)
	}
	huge := append([]byte{0x8d}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f) // BINUNICODE8 of 2^63 bytes
	for name, c := range map[string]struct {
		path, want string
	}{
		"storage larger than its record": {writeTorchZip(t, tensorPickle(1<<30, 0, []uint32{1 << 15, 1 << 15}, []uint32{1 << 15, 1}), map[string][]byte{"0": data}), "its record holds 24 bytes"},
		"view past its storage":          {writeTorchZip(t, tensorPickle(6, 4, []uint32{2, 3}, []uint32{3, 1}), map[string][]byte{"0": data}), "reaches past its storage"},
		"repeating view":                 {writeTorchZip(t, tensorPickle(6, 0, []uint32{1 << 30}, []uint32{0}), map[string][]byte{"0": data}), "more values than its storage"},
		"missing record":                 {writeTorchZip(t, tensorPickle(6, 0, []uint32{6}, []uint32{1}), nil), "no record"},
		"length bomb":                    {writeTorchZip(t, pickleOf(huge), nil), "with 1 bytes left"},
		"unknown opcode":                 {writeTorchZip(t, pickleOf("\xff"), nil), "unknown pickle opcode"},
		"no STOP":                        {writeTorchZip(t, []byte{0x80, 2, '}'}, nil), "without STOP"},
		"stack underflow":                {writeTorchZip(t, pickleOf("s"), nil), "data.pkl"},
		"not a torch file":               {writeFile(t, []byte("\x80\x02}q\x00.")), "not a torch file"},
		"garbage":                        {writeFile(t, []byte("hello")), "neither a zip archive nor a legacy torch file"},
	} {
		t.Run(name, func(t *testing.T) {
			tf, err := openTorch(c.path)
			if err == nil {
				tf.Close()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("%v, want an error naming the file and %q", err, c.want)
			}
		})
	}
	// The legacy format: a storage count that disagrees with the pickle,
	// or one beyond the file, is refused before anything is read.
	legacy, err := os.ReadFile(filepath.Join("testdata", "w2v2-large-ctc", "fairseq-legacy.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFairseq(writeFile(t, legacy[:len(legacy)-100])); err == nil || !strings.Contains(err.Error(), "bytes left") {
		t.Errorf("a truncated legacy file: %v", err)
	}
	// The first storage's count, just after the five pickles, claims more
	// values than the pickle does.
	at := 0
	for range 5 {
		n, err := pickleEnd(legacy[at:])
		if err != nil {
			t.Fatal(err)
		}
		at += n
	}
	doctored := append([]byte(nil), legacy...)
	binary.LittleEndian.PutUint64(doctored[at:], 1<<40)
	if _, err := LoadFairseq(writeFile(t, doctored)); err == nil || !strings.Contains(err.Error(), "where the pickle says") {
		t.Errorf("a doctored legacy count: %v", err)
	}
	// A class other than PyTorch's is inert data: os.system is not run.
	evil := writeTorchZip(t, pickleOf("cos\nsystem\n", unicode("touch /tmp/pwned-by-pickle"), "\x85R"), nil)
	tf, err = openTorch(evil)
	if err != nil {
		t.Fatal(err)
	}
	tf.Close()
	if o, ok := tf.root.(*inertObject); !ok || o.Class.module != "os" {
		t.Errorf("os.system gave %#v", tf.root)
	}
	if _, err := os.Stat("/tmp/pwned-by-pickle"); err == nil {
		t.Error("the pickle ran a command")
	}
}

func writeFile(t testing.TB, b []byte) string {
	path := filepath.Join(t.TempDir(), "legacy.pt")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// FuzzPickle runs the checked unpickler on arbitrary bytes: an error or a
// value, never a panic, a hang or a huge allocation.
func FuzzPickle(f *testing.F) {
	f.Add(tensorPickle(6, 0, []uint32{2, 3}, []uint32{3, 1}))
	f.Add(pickleOf("}", unicode("a"), binint(3), "s"))
	for _, v := range variants {
		if b, err := readPickle(filepath.Join("testdata", v, "fairseq.pt")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tf := &torchFile{path: "fuzz", records: map[string]record{}, cache: map[string][]byte{}}
		tf.unpickle(data)
	})
}

// readPickle returns an archive's data.pkl.
func readPickle(path string) ([]byte, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	for _, f := range z.File {
		if strings.HasSuffix(f.Name, "/data.pkl") {
			r, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer r.Close()
			var b bytes.Buffer
			_, err = b.ReadFrom(r)
			return b.Bytes(), err
		}
	}
	return nil, os.ErrNotExist
}

// FuzzTorchFile opens arbitrary bytes as a torch.save file, zip or legacy,
// and reads every tensor it names: an error or values, never a panic or
// an allocation beyond the file.
func FuzzTorchFile(f *testing.F) {
	// Small seeds (torch.save of one 2 x 3 tensor, both formats): the
	// fuzzer mutates them faster than whole models.
	for _, p := range []string{"tiny-legacy.pt", "tiny-zip.pt"} {
		b, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.pt")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tf, err := openTorch(path)
		if err != nil {
			return
		}
		defer tf.Close()
		var walk func(v any, depth int)
		walk = func(v any, depth int) {
			if depth > 8 {
				return
			}
			if tt, ok := v.(*torchTensor); ok {
				tf.values(tt)
			}
			for _, e := range dictEntries(v) {
				walk(e.Value, depth+1)
			}
		}
		walk(tf.root, 0)
	})
}

package published

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// PyTorch files (torch.save: pytorch_model.bin, fairseq's .pt) are zip
// archives of a pickle, data.pkl, and one record per tensor storage. A
// pickle is a program for a stack machine, and Python's own unpickler runs
// whatever functions it names. This reader never runs anything: the
// pickle goes through gopickle's unpickler with a class finder that knows
// only PyTorch's tensor and storage types and turns every other class into
// inert data, and before that a scan of the opcodes checks that no length
// in it exceeds the bytes that follow, so that no field makes the reader
// allocate more than the file holds. A storage is checked against its
// record's size, and a tensor against its storage, before any value is read.

// maxPickleBytes bounds data.pkl: a model's holds names and shapes (tens of
// kB); fairseq's adds its settings.
const maxPickleBytes = 64 << 20

// torchFile is an open torch.save zip archive with its pickle decoded.
type torchFile struct {
	path    string
	closer  io.Closer
	records map[string]record // storage key -> its bytes
	root    any               // the unpickled object
	cache   map[string][]byte // storage bytes read so far
	legacy  bool              // the format of torch before 1.6
	named   []*storage        // the storages the pickle named (legacy format)
}

// record is where a storage's bytes are: their count and a reader.
type record struct {
	size int64
	open func() (io.ReadCloser, error)
}

// storage is a tensor storage named by the pickle, not yet read.
type storage struct {
	dtype string // "F32", "F16", "BF16", "F64", or another PyTorch type name
	size  int    // bytes per element
	key   string
	numel int
}

// torchTensor is a tensor of the pickle: a view of a storage.
type torchTensor struct {
	st     *storage
	offset int
	shape  []int
	stride []int
}

// storageTypes are the storage classes, by name, with their element
// types and sizes.
var storageTypes = map[string]struct {
	dtype string
	size  int
}{
	"FloatStorage": {"F32", 4}, "HalfStorage": {"F16", 2}, "BFloat16Storage": {"BF16", 2},
	"DoubleStorage": {"F64", 8}, "LongStorage": {"I64", 8}, "IntStorage": {"I32", 4},
	"ShortStorage": {"I16", 2}, "CharStorage": {"I8", 1}, "ByteStorage": {"U8", 1}, "BoolStorage": {"BOOL", 1},
}

// openTorch opens a torch.save zip file and decodes its pickle.
func openTorch(path string) (tf *torchFile, err error) {
	z, err := zip.OpenReader(path)
	if errors.Is(err, zip.ErrFormat) {
		return openLegacy(path)
	}
	if err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	defer func() {
		if err != nil {
			z.Close()
		}
	}()
	tf = &torchFile{path: path, closer: z, records: map[string]record{}, cache: map[string][]byte{}}
	var data *zip.File
	for _, f := range z.File {
		_, name, _ := strings.Cut(f.Name, "/")
		switch {
		case name == "data.pkl":
			data = f
		case name == "constants.pkl":
			return nil, fmt.Errorf("published: %s: a TorchScript archive, not a saved state dict", path)
		case strings.HasPrefix(name, "data/"):
			tf.records[strings.TrimPrefix(name, "data/")] = record{size: int64(min(f.UncompressedSize64, math.MaxInt64)), open: f.Open}
		}
	}
	if data == nil {
		return nil, fmt.Errorf("published: %s: no data.pkl: not a file of torch.save", path)
	}
	if data.UncompressedSize64 > maxPickleBytes {
		return nil, fmt.Errorf("published: %s: data.pkl of %d bytes, beyond the %d a state dict needs", path, data.UncompressedSize64, maxPickleBytes)
	}
	r, err := data.Open()
	if err != nil {
		return nil, fmt.Errorf("published: %s: %w", path, err)
	}
	buf, err := io.ReadAll(io.LimitReader(r, maxPickleBytes+1))
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("published: %s: data.pkl: %w", path, err)
	}
	if tf.root, err = tf.unpickle(buf); err != nil {
		return nil, fmt.Errorf("published: %s: data.pkl: %w", path, err)
	}
	return tf, nil
}

// Close closes the file.
func (tf *torchFile) Close() error { return tf.closer.Close() }

// unpickle runs the checked pickle with inert classes.
func (tf *torchFile) unpickle(data []byte) (root any, err error) {
	if err := checkPickle(data); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil { // a malformed stack the library does not check
			root, err = nil, fmt.Errorf("malformed pickle (%v)", p)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = func(module, name string) (any, error) {
		if module == "torch._utils" && name == "_rebuild_tensor_v2" {
			return rebuildTensor{tf}, nil
		}
		if module == "torch" {
			if t, ok := storageTypes[name]; ok {
				return &storageClass{name: name, dtype: t.dtype, size: t.size}, nil
			}
		}
		return &inertClass{module: module, name: name}, nil
	}
	u.PersistentLoad = tf.persistentLoad
	return u.Load()
}

// persistentLoad resolves ('storage', class, key, location, numel), and
// in the legacy format a sixth element, the view (None), checking the
// storage against its record (for the legacy format, once the records are
// known: see openLegacy).
func (tf *torchFile) persistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < 5 || t.Get(0) != "storage" {
		return nil, fmt.Errorf("persistent id %.80v: want ('storage', type, key, location, numel)", id)
	}
	cls, ok1 := t.Get(1).(*storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("storage %.80v: want a storage type, a key and a count", id)
	}
	if tf.legacy && (t.Len() != 6 || t.Get(5) != nil) {
		return nil, fmt.Errorf("storage %q: a view of another storage, which this reader does not follow", key)
	}
	st := &storage{dtype: cls.dtype, size: cls.size, key: key, numel: numel}
	if tf.legacy {
		tf.named = append(tf.named, st)
		return st, nil
	}
	rec, ok := tf.records[key]
	if !ok {
		return nil, fmt.Errorf("storage %q has no record in the archive", key)
	}
	if int64(numel) > rec.size/int64(cls.size) {
		return nil, fmt.Errorf("storage %q claims %d values of %d bytes; its record holds %d bytes", key, numel, cls.size, rec.size)
	}
	return st, nil
}

// storageClass is a torch.*Storage class of the pickle.
type storageClass struct {
	name, dtype string
	size        int
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{ tf *torchFile }

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(args))
	}
	st, ok1 := args[0].(*storage)
	offset, ok2 := args[1].(int)
	shape, err1 := intTuple(args[2])
	stride, err2 := intTuple(args[3])
	if !ok1 || !ok2 || err1 != nil || err2 != nil || len(shape) != len(stride) || offset < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: malformed arguments")
	}
	// The last element the view reads must lie in the storage.
	last := offset
	for i, n := range shape {
		if n < 0 || stride[i] < 0 || n > math.MaxInt32 || stride[i] > math.MaxInt32 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: shape %v, stride %v", shape, stride)
		}
		if n == 0 {
			last = -1
			break
		}
		last += (n - 1) * stride[i]
		if last >= st.numel {
			break
		}
	}
	if last >= st.numel {
		return nil, fmt.Errorf("_rebuild_tensor_v2: a view of shape %v, stride %v at offset %d reaches past its storage of %d values", shape, stride, offset, st.numel)
	}
	// No more values than the storage holds, so that a view repeating
	// values (stride 0) cannot make the reader allocate beyond the file.
	n := 1
	for _, d := range shape {
		if n = n * d; n > st.numel {
			return nil, fmt.Errorf("_rebuild_tensor_v2: a view of shape %v has more values than its storage's %d", shape, st.numel)
		}
	}
	return &torchTensor{st: st, offset: offset, shape: shape, stride: stride}, nil
}

// intTuple reads a tuple of ints.
func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, errors.New("not a tuple")
	}
	out := make([]int, t.Len())
	for i := range out {
		n, ok := t.Get(i).(int)
		if !ok {
			return nil, errors.New("not an int")
		}
		out[i] = n
	}
	return out, nil
}

// inertClass stands for every class the reader does not know: making one
// makes an inertObject holding the arguments and state as data.
type inertClass struct{ module, name string }

// inertObject is an instance of an inertClass: argparse.Namespace's
// attributes, for example, are in Dict.
type inertObject struct {
	Class *inertClass
	Args  []any
	Dict  map[string]any
	State any
}

func (c *inertClass) PyNew(args ...any) (any, error) { return &inertObject{Class: c, Args: args}, nil }
func (c *inertClass) Call(args ...any) (any, error)  { return &inertObject{Class: c, Args: args}, nil }

func (o *inertObject) PySetState(state any) error {
	o.State = state
	if d, ok := state.(*types.Dict); ok {
		for _, e := range *d {
			if k, ok := e.Key.(string); ok {
				o.dict()[k] = e.Value
			}
		}
	}
	return nil
}

func (o *inertObject) PyDictSet(key, value any) error {
	if k, ok := key.(string); ok {
		o.dict()[k] = value
	}
	return nil
}

func (o *inertObject) dict() map[string]any {
	if o.Dict == nil {
		o.Dict = map[string]any{}
	}
	return o.Dict
}

// values reads a float tensor's values as float32, row-major.
func (tf *torchFile) values(t *torchTensor) ([]float32, error) {
	st := t.st
	switch st.dtype {
	case "F32", "F16", "BF16", "F64":
	default:
		return nil, fmt.Errorf("published: %s: a tensor of %s, want floats", tf.path, st.dtype)
	}
	data, ok := tf.cache[st.key]
	if !ok {
		rec, ok := tf.records[st.key]
		if !ok || rec.size < int64(st.numel*st.size) {
			return nil, fmt.Errorf("published: %s: storage %s has no record of its size", tf.path, st.key)
		}
		r, err := rec.open()
		if err != nil {
			return nil, fmt.Errorf("published: %s: %w", tf.path, err)
		}
		data = make([]byte, st.numel*st.size) // checked against the record's size
		_, err = io.ReadFull(r, data)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("published: %s: storage %s: %w", tf.path, st.key, err)
		}
		tf.cache[st.key] = data
	}
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	out := make([]float32, n)
	idx := make([]int, len(t.shape))
	for i := range out {
		at := t.offset
		for d, k := range idx {
			at += k * t.stride[d]
		}
		out[i] = element(data, at, st)
		for d := len(idx) - 1; d >= 0; d-- { // next index, row-major
			if idx[d]++; idx[d] < t.shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// element reads value i of a float storage as float32.
func element(data []byte, i int, st *storage) float32 {
	switch st.dtype {
	case "F32":
		return math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	case "F64":
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
	case "BF16":
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(data[2*i:])) << 16)
	default: // F16
		return halfToFloat(binary.LittleEndian.Uint16(data[2*i:]))
	}
}

// halfToFloat converts an IEEE half-precision value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: frac * 2^-24.
	v := float32(frac) / (1 << 24)
	if sign != 0 {
		v = -v
	}
	return v
}

// legacyMagic is the number the legacy format's first pickle holds.
var legacyMagic = func() *big.Int { n, _ := new(big.Int).SetString("119547037146038801333356", 10); return n }()

// openLegacy reads the format of torch.save before PyTorch 1.6: five
// pickles (the magic number, the protocol version 1001, the system's
// sizes, the object, the storage keys) followed by each storage's count
// and values, in the keys' order. Every pickle is checked before it is
// run, and every storage's count and extent against the pickle's claim
// and the file's size before anything is read.
func openLegacy(path string) (tf *torchFile, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	size := info.Size()
	head := make([]byte, min(size, 4*maxPickleBytes))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("published: %s: %w", path, err)
	}
	tf = &torchFile{path: path, closer: f, records: map[string]record{}, cache: map[string][]byte{}, legacy: true}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("published: %s: "+format, append([]any{path}, a...)...)
	}
	var pickles [5]any
	at := 0
	for i := range pickles {
		end, err := pickleEnd(head[at:])
		if err != nil {
			if i == 0 {
				return nil, bad("neither a zip archive nor a legacy torch file (%v)", err)
			}
			return nil, bad("legacy pickle %d: %v", i+1, err)
		}
		if pickles[i], err = tf.unpickle(head[at : at+end]); err != nil {
			return nil, bad("legacy pickle %d: %v", i+1, err)
		}
		at += end
		if i == 0 {
			if n, ok := pickles[0].(*big.Int); !ok || n.Cmp(legacyMagic) != 0 {
				return nil, bad("not a torch file (no magic number)")
			}
		}
	}
	if pickles[1] != 1001 {
		return nil, bad("legacy protocol %v, want 1001", pickles[1])
	}
	if d, ok := pickles[2].(*types.Dict); ok {
		if le, _ := d.Get("little_endian"); le != true {
			return nil, bad("saved on a big-endian machine")
		}
	}
	keys, ok := pickles[4].(*types.List)
	if !ok {
		return nil, bad("legacy storage keys: not a list")
	}
	claimed := map[string]*storage{}
	for _, st := range tf.named {
		claimed[st.key] = st
	}
	off := int64(at)
	for i := range keys.Len() {
		key, ok := keys.Get(i).(string)
		st := claimed[key]
		if !ok || st == nil {
			return nil, bad("legacy storage key %v is not one the pickle names", keys.Get(i))
		}
		var n [8]byte
		if _, err := f.ReadAt(n[:], off); err != nil {
			return nil, bad("legacy storage %s: %v", key, err)
		}
		numel := int64(binary.LittleEndian.Uint64(n[:]))
		bytes := numel * int64(st.size)
		if numel < 0 || numel != int64(st.numel) || bytes > size-off-8 {
			return nil, bad("legacy storage %s: %d values where the pickle says %d and the file has %d bytes left", key, numel, st.numel, size-off-8)
		}
		start := off + 8
		tf.records[key] = record{size: bytes, open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(f, start, bytes)), nil
		}}
		off += 8 + bytes
	}
	tf.root = pickles[3]
	return tf, nil
}

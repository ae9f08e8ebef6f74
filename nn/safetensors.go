package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// The safetensors format: an 8-byte little-endian header length N, N bytes
// of JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {string: string}}, then the tensors' raw little-endian
// bytes, offsets counted from the end of the header.

// maxHeaderSize bounds the JSON header, as the Python library does.
const maxHeaderSize = 100_000_000

// dtypeSizes gives the element size of each safetensors dtype.
var dtypeSizes = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// SavedTensor is one tensor of a checkpoint. Data holds the values as
// float32 for the float dtypes F32, F64, F16 and BF16 (converted), and is nil
// for the other dtypes, whose bytes are checked and skipped.
type SavedTensor struct {
	DType string
	Shape []int
	Data  []float32
}

// tensorEntry is one tensor of a header, with its offsets.
type tensorEntry struct {
	name       string
	dtype      string
	shape      []int
	begin, end int64
}

type headerEntry struct {
	DType   string
	Shape   *[]int64
	Offsets []int64
}

// formatError wraps a problem with the file's structure.
func formatError(path, format string, args ...any) error {
	return fmt.Errorf("nn: %s: not a valid safetensors file: %s", path, fmt.Sprintf(format, args...))
}

// readSafetensors decodes a safetensors stream of the given total size. It
// checks the header against the size before allocating and never panics.
func readSafetensors(r io.Reader, size int64, path string) (map[string]SavedTensor, map[string]string, error) {
	if size < 8 {
		return nil, nil, formatError(path, "%d bytes, shorter than the 8-byte header length", size)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	var lenBuf [8]byte
	if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
		return nil, nil, fmt.Errorf("nn: %s: %w", path, noEOF(err))
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderSize || n > uint64(size-8) {
		return nil, nil, formatError(path, "header length %d exceeds the file size %d", n, size)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, nil, fmt.Errorf("nn: %s: reading header: %w", path, noEOF(err))
	}
	dataSize := size - 8 - int64(n)
	entries, meta, err := parseHeader(header, dataSize, path)
	if err != nil {
		return nil, nil, err
	}
	tensors := make(map[string]SavedTensor, len(entries))
	buf := make([]byte, 1<<16)
	for _, e := range entries { // sorted by offset and contiguous
		t, err := readTensor(br, e, buf)
		if err != nil {
			return nil, nil, fmt.Errorf("nn: %s: tensor %s: %w", path, e.name, noEOF(err))
		}
		tensors[e.name] = t
	}
	return tensors, meta, nil
}

// parseHeader decodes and checks the JSON header: known dtypes, shapes
// that match the offsets, offsets that tile the data section exactly. The
// entries come back sorted by offset.
func parseHeader(header []byte, dataSize int64, path string) ([]tensorEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, formatError(path, "header is not a JSON object")
	}
	var entries []tensorEntry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, formatError(path, "header: %v", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, nil, formatError(path, "header names %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, formatError(path, "__metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		h, err := decodeEntry(dec)
		if err != nil {
			return nil, nil, formatError(path, "tensor %q: %v", name, err)
		}
		e, err := checkEntry(name, h, dataSize)
		if err != nil {
			return nil, nil, formatError(path, "%v", err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, formatError(path, "header: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, formatError(path, "data after the header's JSON object")
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].begin != entries[j].begin {
			return entries[i].begin < entries[j].begin
		}
		return entries[i].end < entries[j].end
	})
	var at int64
	for _, e := range entries {
		if e.begin != at {
			return nil, nil, formatError(path, "tensor %q starts at byte %d, want %d (tensors must be contiguous)", e.name, e.begin, at)
		}
		at = e.end
	}
	if at != dataSize {
		return nil, nil, formatError(path, "tensors cover %d bytes of data, the file holds %d", at, dataSize)
	}
	return entries, meta, nil
}

// decodeEntry decodes one tensor's entry. Unlike encoding/json's struct
// decoding, the field names must match exactly, as in Python's reader.
func decodeEntry(dec *json.Decoder) (headerEntry, error) {
	var raw map[string]json.RawMessage
	var h headerEntry
	if err := dec.Decode(&raw); err != nil {
		return h, err
	}
	if v, ok := raw["dtype"]; ok {
		if err := json.Unmarshal(v, &h.DType); err != nil {
			return h, fmt.Errorf("dtype: %v", err)
		}
	}
	if v, ok := raw["shape"]; ok && string(v) != "null" {
		h.Shape = new([]int64)
		if err := json.Unmarshal(v, h.Shape); err != nil {
			return h, fmt.Errorf("shape: %v", err)
		}
	}
	if v, ok := raw["data_offsets"]; ok {
		if err := json.Unmarshal(v, &h.Offsets); err != nil {
			return h, fmt.Errorf("data_offsets: %v", err)
		}
	}
	return h, nil
}

// checkEntry checks one header entry against the data section's size.
func checkEntry(name string, h headerEntry, dataSize int64) (tensorEntry, error) {
	esize, ok := dtypeSizes[h.DType]
	if !ok {
		return tensorEntry{}, fmt.Errorf("tensor %q: unknown dtype %q", name, h.DType)
	}
	if h.Shape == nil {
		return tensorEntry{}, fmt.Errorf("tensor %q: no shape", name)
	}
	if len(h.Offsets) != 2 {
		return tensorEntry{}, fmt.Errorf("tensor %q: data_offsets has %d values, want 2", name, len(h.Offsets))
	}
	begin, end := h.Offsets[0], h.Offsets[1]
	if begin < 0 || end < begin || end > dataSize {
		return tensorEntry{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d bytes of data", name, begin, end, dataSize)
	}
	shape := make([]int, len(*h.Shape))
	count := int64(1)
	for i, d := range *h.Shape {
		if d < 0 {
			return tensorEntry{}, fmt.Errorf("tensor %q: negative dimension in shape %v", name, *h.Shape)
		}
		if d > 0 && count > dataSize/d {
			// count*d*esize would exceed the data, or overflow.
			return tensorEntry{}, fmt.Errorf("tensor %q: shape %v larger than the file", name, *h.Shape)
		}
		count *= d
		shape[i] = int(d)
	}
	if count*esize != end-begin {
		return tensorEntry{}, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets give %d", name, *h.Shape, h.DType, count*esize, end-begin)
	}
	return tensorEntry{name: name, dtype: h.DType, shape: shape, begin: begin, end: end}, nil
}

// readTensor reads one tensor's bytes, converting float dtypes to float32.
func readTensor(r io.Reader, e tensorEntry, buf []byte) (SavedTensor, error) {
	t := SavedTensor{DType: e.dtype, Shape: e.shape}
	nbytes := e.end - e.begin
	esize := dtypeSizes[e.dtype]
	var conv func(b []byte) float32
	switch e.dtype {
	case "F32":
		conv = func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
	case "F64":
		conv = func(b []byte) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(b))) }
	case "F16":
		conv = func(b []byte) float32 { return float16to32(binary.LittleEndian.Uint16(b)) }
	case "BF16":
		conv = func(b []byte) float32 { return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16) }
	default:
		_, err := io.CopyN(io.Discard, r, nbytes)
		return t, err
	}
	t.Data = make([]float32, nbytes/esize)
	chunk := int64(len(buf)) / esize * esize
	for i := int64(0); i < nbytes; i += chunk {
		b := buf[:min(chunk, nbytes-i)]
		if _, err := io.ReadFull(r, b); err != nil {
			return t, err
		}
		out := t.Data[i/esize:]
		for j := range int64(len(b)) / esize {
			out[j] = conv(b[j*esize:])
		}
	}
	return t, nil
}

// float16to32 converts an IEEE half-precision value.
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac * 2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// namedTensor is one float32 tensor to write.
type namedTensor struct {
	name  string
	shape []int
	data  []float32
}

// writeSafetensors writes tensors, in name order, as F32.
func writeSafetensors(w io.Writer, tensors []namedTensor, meta map[string]string) error {
	tensors = slices.Clone(tensors)
	slices.SortFunc(tensors, func(a, b namedTensor) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	hdr := make(map[string]any, len(tensors)+1)
	var at int64
	for _, t := range tensors {
		n := int64(len(t.data)) * 4
		hdr[t.name] = entry{DType: "F32", Shape: append([]int{}, t.shape...), Offsets: [2]int64{at, at + n}}
		at += n
	}
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	js, err := json.Marshal(hdr) // map keys come out sorted
	if err != nil {
		return err
	}
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, t := range tensors {
		for i, x := range t.data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			if len(buf) == cap(buf) || i == len(t.data)-1 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	return nil
}

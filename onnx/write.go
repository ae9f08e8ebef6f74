package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// IRVersion is the ONNX IR version the package writes (ONNX 1.12, which
// brought opset 17).
const IRVersion = 8

// Model is a graph with what a runtime needs to load it.
type Model struct {
	Graph           *Graph
	Opset           int64 // of the default ONNX domain
	ProducerName    string
	ProducerVersion string
	Doc             string
	// Metadata is written as the model's metadata_props, sorted by key.
	Metadata map[string]string
}

// Field numbers of onnx.proto.
const (
	modelIRVersion     = 1
	modelProducerName  = 2
	modelProducerVers  = 3
	modelDoc           = 6
	modelGraph         = 7
	modelOpsetImport   = 8
	modelMetadataProps = 14

	opsetDomain  = 1
	opsetVersion = 2

	entryKey   = 1
	entryValue = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5

	attrName    = 1
	attrF       = 2
	attrI       = 3
	attrS       = 4
	attrFloatsF = 7
	attrIntsF   = 8
	attrType    = 20

	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9

	valueName = 1
	valueType = 2

	typeTensor     = 1
	tensorElemType = 1
	tensorShape    = 2
	shapeDim       = 1
	dimValue       = 1
	dimParam       = 2
)

// Marshal returns the model in ONNX's protobuf encoding.
func (m *Model) Marshal() ([]byte, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("onnx: model without a graph")
	}
	if m.Opset < 1 {
		return nil, fmt.Errorf("onnx: model without an opset")
	}
	var b []byte
	b = protowire.AppendTag(b, modelIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, IRVersion)
	b = appendString(b, modelProducerName, m.ProducerName)
	b = appendString(b, modelProducerVers, m.ProducerVersion)
	b = appendString(b, modelDoc, m.Doc)
	b = appendMessage(b, modelGraph, func(b []byte) []byte { return m.Graph.append(b) })
	b = appendMessage(b, modelOpsetImport, func(b []byte) []byte {
		b = protowire.AppendTag(b, opsetVersion, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(m.Opset))
	})
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendMessage(b, modelMetadataProps, func(b []byte) []byte {
			b = appendString(b, entryKey, k)
			return appendString(b, entryValue, m.Metadata[k])
		})
	}
	return b, nil
}

// WriteTo writes the model's encoding to w.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	b, err := m.Marshal()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

func (g *Graph) append(b []byte) []byte {
	for i := range g.Nodes {
		b = appendMessage(b, graphNode, g.Nodes[i].append)
	}
	b = appendString(b, graphName, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, graphInitializer, t.append)
	}
	for i := range g.Inputs {
		b = appendMessage(b, graphInput, g.Inputs[i].append)
	}
	for i := range g.Outputs {
		b = appendMessage(b, graphOutput, g.Outputs[i].append)
	}
	return b
}

func (n *Node) append(b []byte) []byte {
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOpType, n.Op)
	for i := range n.Attrs {
		b = appendMessage(b, nodeAttribute, n.Attrs[i].append)
	}
	return b
}

func (a *Attr) append(b []byte) []byte {
	b = appendString(b, attrName, a.Name)
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.kind))
	switch a.kind {
	case attrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.i))
	case attrString:
		b = protowire.AppendTag(b, attrS, protowire.BytesType)
		b = protowire.AppendString(b, a.s)
	case attrInts:
		b = appendMessage(b, attrIntsF, func(b []byte) []byte {
			for _, v := range a.ints {
				b = protowire.AppendVarint(b, uint64(v))
			}
			return b
		})
	case attrFloats:
		b = appendMessage(b, attrFloatsF, func(b []byte) []byte {
			for _, v := range a.float {
				b = protowire.AppendFixed32(b, math.Float32bits(v))
			}
			return b
		})
	}
	return b
}

// append writes the tensor with its values as raw little-endian bytes.
func (t *Tensor) append(b []byte) []byte {
	if len(t.Dims) > 0 {
		b = appendMessage(b, tensorDims, func(b []byte) []byte {
			for _, d := range t.Dims {
				b = protowire.AppendVarint(b, uint64(d))
			}
			return b
		})
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.Type()))
	b = appendString(b, tensorName, t.Name)
	var raw []byte
	switch t.Type() {
	case Float:
		raw = make([]byte, 0, 4*len(t.Float))
		for _, v := range t.Float {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	case Double:
		raw = make([]byte, 0, 8*len(t.Double))
		for _, v := range t.Double {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	case Int64:
		raw = make([]byte, 0, 8*len(t.Int64))
		for _, v := range t.Int64 {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	}
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func (v *Value) append(b []byte) []byte {
	b = appendString(b, valueName, v.Name)
	return appendMessage(b, valueType, func(b []byte) []byte {
		return appendMessage(b, typeTensor, func(b []byte) []byte {
			b = protowire.AppendTag(b, tensorElemType, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v.Type))
			return appendMessage(b, tensorShape, func(b []byte) []byte {
				for _, d := range v.Dims {
					b = appendMessage(b, shapeDim, func(b []byte) []byte {
						if d.Param != "" {
							return appendString(b, dimParam, d.Param)
						}
						b = protowire.AppendTag(b, dimValue, protowire.VarintType)
						return protowire.AppendVarint(b, uint64(d.Size))
					})
				}
				return b
			})
		})
	})
}

// appendString appends a string field, nothing when s is empty.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendMessage appends a length-delimited field whose body body writes:
// the body goes at the end of b and its length is inserted before it.
func appendMessage(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	start := len(b)
	b = body(b)
	n := len(b) - start
	var lenBuf [binary.MaxVarintLen64]byte
	l := protowire.AppendVarint(lenBuf[:0], uint64(n))
	b = append(b, l...)                      // grow by len(l)
	copy(b[start+len(l):], b[start:start+n]) // shift the body
	copy(b[start:], l)
	return b
}

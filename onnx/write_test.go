package onnx

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// fields returns the numbers and bodies of a message's length-delimited
// fields and the values of its varint fields, failing on a bad encoding.
func fields(t *testing.T, b []byte) (msgs map[protowire.Number][][]byte, ints map[protowire.Number][]uint64) {
	t.Helper()
	msgs, ints = map[protowire.Number][][]byte{}, map[protowire.Number][]uint64{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatalf("field %d: %v", num, protowire.ParseError(n))
			}
			msgs[num] = append(msgs[num], v)
			b = b[n:]
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatalf("field %d: %v", num, protowire.ParseError(n))
			}
			ints[num] = append(ints[num], v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				t.Fatalf("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return msgs, ints
}

func TestMarshal(t *testing.T) {
	g := NewGraph("g")
	x := g.Input("x", Float, Sym("batch"), Fixed(3))
	y := g.Op("Add", []string{x, g.Floats("b", []float32{1, 2, 3}, 3)})
	y = g.Op("Transpose", []string{y}, Ints("perm", 1, 0))
	g.Output("y", y, Float, Fixed(3), Sym("batch"))
	b, err := (&Model{Graph: g, Opset: 17, ProducerName: "test", Metadata: map[string]string{"k": "v"}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	msgs, ints := fields(t, b)
	if ints[modelIRVersion][0] != IRVersion || string(msgs[modelProducerName][0]) != "test" || len(msgs[modelMetadataProps]) != 1 {
		t.Fatalf("model fields %v %v", ints, msgs)
	}
	_, opset := fields(t, msgs[modelOpsetImport][0])
	if opset[opsetVersion][0] != 17 {
		t.Errorf("opset %v", opset)
	}
	gm, _ := fields(t, msgs[modelGraph][0])
	if len(gm[graphNode]) != 3 || len(gm[graphInitializer]) != 1 || len(gm[graphInput]) != 1 || len(gm[graphOutput]) != 1 {
		t.Fatalf("graph: %d nodes, %d initializers, %d inputs, %d outputs", len(gm[graphNode]), len(gm[graphInitializer]), len(gm[graphInput]), len(gm[graphOutput]))
	}
	init, tints := fields(t, gm[graphInitializer][0])
	if len(init[tensorRawData][0]) != 12 || tints[tensorDataType][0] != uint64(Float) {
		t.Errorf("initializer: %d raw bytes, type %v", len(init[tensorRawData][0]), tints[tensorDataType])
	}
	node, _ := fields(t, gm[graphNode][1])
	if string(node[nodeOpType][0]) != "Transpose" || len(node[nodeAttribute]) != 1 {
		t.Errorf("node %q with %d attributes", node[nodeOpType], len(node[nodeAttribute]))
	}
}

func TestConstPanicsOnShapeMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for 2 values of dims [3]")
		}
	}()
	NewGraph("g").Floats("w", []float32{1, 2}, 3)
}

func TestMarshalNeedsGraphAndOpset(t *testing.T) {
	if _, err := (&Model{Opset: 17}).Marshal(); err == nil {
		t.Error("no error without a graph")
	}
	if _, err := (&Model{Graph: NewGraph("g")}).Marshal(); err == nil {
		t.Error("no error without an opset")
	}
}

// Package onnx builds ONNX graphs and writes them in ONNX's protobuf
// format (onnx.proto, IR version 8), which onnxruntime and every other
// runtime that reads ONNX load. It knows the messages and field numbers of
// onnx.proto, not the operators: a Graph is a list of nodes whose op types
// and attributes the caller spells as the ONNX operator documentation does.
// See https://onnx.ai/onnx/operators/ for the operators of each opset.
package onnx

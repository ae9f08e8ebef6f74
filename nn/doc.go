// Package nn is the network layer of wav2vec-go: parameters, graphs of
// layers and ops with hand-written gradients, compiled programs that run
// forward and backward, the CTC loss, optimisers, schedules and
// checkpoints. It is the only package that imports gorgonia; other
// packages see nn's own types (Graph, Node, Program, Param), so the autodiff
// engine stays replaceable.
//
// # Layout
//
// Tensors are float32, row-major and channels-first: [B, C, T] (batch,
// channels, frames), PyTorch's Conv1d layout. A Linear layer on [B, C, T]
// is a 1x1 convolution over channels; LayerNorm normalises each frame over
// its channels; GroupNorm normalises each sample over groups of channels
// and all frames.
//
// # Parameters and graphs
//
// Parameters (Param) live outside graphs, listed by name in a Params. A
// Graph has fixed shapes; Graph.Param binds a Param's Data as the backing
// memory of its node, so every compiled graph sees the optimiser's updates
// without a copy. Compile(loss, outputs...) adds the backward pass with
// respect to every param the loss depends on that is not Frozen; each
// Program.Run then ADDS the gradients into Param.Grad, so they accumulate
// over graphs and micro-batches until the optimiser zeroes them. A frozen
// param gets no gradient (freezing is decided at Compile; freezing later
// also stops accumulation, unfreezing needs a new program).
//
// Errors while building are sticky (see Graph): a clip shorter than a
// convolution's kernel gives an error from Compile, never a panic.
//
// # Shapes and the program cache
//
// Because gorgonia graphs have fixed shapes, a model builds one graph per
// input shape and keeps the compiled programs in a Cache (LRU) keyed by
// mode and shape: pretraining crops a batch to one length, fine-tuning and
// inference pad to whole seconds, so a run compiles a handful of graphs.
//
// A compiled training graph keeps every op's output buffer between runs,
// forward and backward (Program.Bytes); a forward-only float32 program
// lends each buffer on once its readers are done, so inference holds a
// fraction of that. docs/RESULTS.md has the measured costs.
//
// # Ops
//
// Every op is a custom gorgonia op built from a small internal kernel
// interface (op.go documents the recipe: one file per op, a forward
// written once for float32 and float64, a backward that returns gradient
// nodes built from further ops). Conv1d runs on the im2col+GEMM kernels of
// nn/internal/kernels; GroupNorm and LayerNorm are fused; GELU is the exact
// erf form. Gradients are checked against central finite differences in
// float64 graphs.
// Dropout draws its masks from the graph's seeded generator (Graph.Seed)
// and is the identity unless Graph.Training is set.
//
// A Program is not safe for concurrent use; programs of different graphs
// may run in parallel if they share no trainable Param.
package nn

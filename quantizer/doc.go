// Package quantizer is wav2vec 2.0's Gumbel-softmax product quantizer: a
// linear layer maps each frame of z [B, inDim, T] to logits [B, G*V, T],
// one of V codes is chosen in each of G groups, and the chosen codevectors,
// concatenated over the groups, are the quantized frame q [B, Dim, T].
//
// Training uses hard Gumbel-softmax selection with straight-through
// gradients at a temperature annealed per step (Temperature); the Gumbel
// noise is an input the caller fills from its own seeded generator
// (FillNoise), so a resumed run draws the same noise. Inference takes the
// argmax of the logits. Diversity is the loss that keeps the codebooks in
// use, and Perplexity reports how many codes are in use.
//
// The package builds graphs with package nn and does no I/O.
package quantizer

// Package encoder is wav2vec's network body: the convolutional feature
// encoder, which turns a 16 kHz waveform into one frame every 10 ms, and
// the context network, which turns those frames into contextual
// representations that see about a second of audio on both sides.
//
// Shapes are channels-first, [B, C, T]:
//
//	wave [B, 1, L] --Features--> feats [B, ConvDim, T]   T = Config.Frames(L)
//	feats          --Embed-----> z [B, ConvDim, T] (the quantizer's input), proj [B, Dim, T]
//	proj, mask     --Mask------> x [B, Dim, T]             masked frames = encoder.mask_emb
//	x, valid       --Context---> c [B, Dim, T]
//
// With the log-mel input (Config.Input "logmel"), Features passes the
// [B, LogMelBins, T] features through unchanged, so only the input differs.
//
// Every normalisation is per frame, over channels (never over time), and
// the context network zeroes padding frames after every block, so an
// utterance inside a zero-padded batch gives the same outputs on its frames
// as the utterance alone (fairseq #3227).
//
// Input turns 16 kHz audio into the input tensor (the waveform, or its
// log-mel features from package features), the one way pretraining,
// fine-tuning and transcription feed a model. SpanMask draws wav2vec 2.0's
// span masks, and Windows cuts long inputs into overlapping windows.
//
// Transformer is wav2vec 2.0's own model (and HuBERT's), as published
// checkpoints define it (TransformerConfig uses Hugging Face's config.json
// names): seven strided convolutions with a "group" or "layer" norm, a
// projection, a weight-normed grouped positional convolution and post-LN
// or pre-LN transformer layers with a padding mask. Package published
// loads its weights.
//
// The package builds graphs with package nn and does no I/O.
package encoder

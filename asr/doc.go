// Package asr is speech recognition on top of the pretrained networks: a
// CTC head fine-tuned on labelled audio, and a Transcriber for Go programs.
// The decoding of its output is package ctc, the language models and
// lexicons package lm, the scoring package wer, and the embedded default
// model package defaultmodel.
//
// # The model
//
// A Model is the encoder (the conv feature encoder and the context
// network of package encoder) with a linear head from the context vectors
// c to the vocabulary (asr.head.weight [V, Dim, 1], asr.head.bias [V]): its
// output [B, V, T] goes to nn's CTC loss in training and through a
// log-softmax to the decoders at inference. New makes one with random
// weights, FromPretrained one whose body comes from a pretraining
// checkpoint (its "encoder.*" tensors, its config under "config".encoder),
// Load one written by fine-tuning (kind "asr", config {encoder, vocab,
// init}); a checkpoint's config is checked against limits and against its
// tensors before anything is allocated. FromPublished makes a recogniser
// of a published wav2vec 2.0 or HuBERT CTC model (package published): the
// body is then an encoder.Transformer. Audio shorter than MinSamples (465
// samples for the wave input, 400 for log-mel) gives an error wrapping
// ErrTooShortAudio, never a panic.
//
// # Fine-tuning
//
// Finetune (DefaultFinetuneConfig, FinetuneSettings) trains a model on a
// manifest with .ltr labels from a pretraining checkpoint (a new head; the
// conv feature encoder stays frozen unless TrainFeatures, the whole body
// for FreezeSteps updates), InitScratch (the same network with random
// weights, nothing frozen), InitLogMel (the same context network on 80-bin
// log-mel features), or a fine-tuned model (a path, or InitModel), which
// all trains on to adapt to new data. Batches are padded to whole seconds;
// span masking and, for log-mel, VTLP augment; Adam follows the tri-stage
// schedule; train.Loop runs the updates, validations (greedy CER and WER;
// checkpoint_best by CER) and saves, and Resume continues bit-identically.
//
// # Transcribing
//
// A Transcriber (NewTranscriber) turns 16 kHz samples (Transcribe) or a WAV
// stream (TranscribeReader, Stream) into a Result: the text and each word
// with its start and end in seconds. Long inputs go through the network in
// 30 s windows overlapping by 3 s, whose centre frames equal the whole-file
// run's, and are decoded in segments of at most a window cut in the middle
// of the longest pause; Stream hands over each Segment once final, so
// memory is bounded by a window whatever the input's length. Evaluate
// scores a labelled manifest; a Writer writes txt, json, srt or vtt.
//
// Shape mistakes of the calling program panic; data problems (a malformed
// file, labels too long for the audio) are returned as errors.
package asr

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
// tensors before anything is allocated. Audio shorter than MinSamples (465
// samples for the wave input, 400 for log-mel) gives an error wrapping
// ErrTooShortAudio, never a panic.
//
// # Fine-tuning
//
// Finetune trains a model on a manifest with .ltr labels from one of three
// starting points, so that the value of pretraining can be measured:
//
//   - a pretraining checkpoint: the conv feature encoder stays frozen, as
//     in the wav2vec 2.0 recipes (TrainFeatures lets it learn), and the
//     whole body may be frozen for the first FreezeSteps updates (only the
//     head learns; none by default);
//   - InitScratch: the same network with random weights. Nothing is frozen:
//     the feature encoder trains too, since random frozen convolutions
//     would be an unfair baseline;
//   - InitLogMel: the same context network and head on 80-bin log-mel
//     features from package features; nothing is frozen.
//
// A fine-tuned model (a checkpoint's path, or InitModel: a model in memory)
// can be the starting point too: all of it, head and letters
// included, trains on with a new optimiser and schedule, which adapts it to
// new voices or data. A model fine-tuned from a pretraining checkpoint
// keeps that init's rules: its conv feature encoder stays frozen unless
// TrainFeatures, and FreezeSteps and BodyLRScale apply.
//
// Batches are zero-padded to lengths rounded up to whole seconds, so only a
// few graphs are compiled, with the valid-frame mask passed to the context
// network. Span masking (MaskProb, MaskLength) acts as augmentation, and for
// log-mel input so can vocal tract length perturbation (VTLP); Adam
// (betas 0.9, 0.98) follows the tri-stage schedule. Utterances whose labels
// need more frames than they have are left out with a warning (the CTC
// loss's zero_infinity is the backstop); an update whose loss or gradient
// is not finite is skipped, counted and logged. Each validation measures
// the loss, CER and WER (greedy decoding) on the valid manifest, keeps
// checkpoint_best by CER (WER breaking ties) and warns when, after the
// warm-up, every hypothesis is empty: the model emits only blanks, and the
// cure is a higher learning rate, a shorter freeze or more steps.
// metrics.jsonl gets the step, loss, learning rate, gradient norm and
// skipped counts, and the validation scores. Cancelling the context saves
// checkpoint_last; Resume continues from it bit-identically (weights, Adam
// state, data position, mask and dropout random state).
//
// # Transcribing
//
// A Transcriber (NewTranscriber) turns 16 kHz samples (Transcribe) or a WAV
// stream (TranscribeReader, Stream) into a Result: the text and each word
// with its start and end in seconds. Inputs longer than a window (30 s) go
// through the network in windows that overlap by 3 s; each window keeps the
// frames of its centre part, so every kept frame sees at least the context
// network's reach of real audio on each side and the frames are those of
// the whole-file run. The frames are decoded in segments of at most a
// window, each cut in the middle of the longest pause (a run of frames
// whose best symbol is the blank or "|"), and decoded on its own: a
// segment's words start and end sentences for the LM. Stream reads a
// seekable WAV stream twice for its normalisation and once to transcribe
// it, and hands over each Segment as soon as it is final, so memory is
// bounded by a window whatever the input's length; Transcribe does the same
// from samples in memory. A file transcribed alone and inside a padded
// batch (TranscribeBatch) gives the same text. Evaluate scores a labelled
// manifest; a Writer (or WriteResult) writes txt, json, srt or vtt, one
// document per input, segment by segment.
//
// Shape mistakes of the calling program panic; data problems (a malformed
// file, labels too long for the audio) are returned as errors.
package asr

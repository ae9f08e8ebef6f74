// Package asr is speech recognition on top of the pretrained networks: a
// CTC head fine-tuned on labelled audio, the decoding of its output into
// text, the scoring of transcripts, and a Transcriber for Go programs. The
// decoding and scoring parts import neither encoder nor nn: they take plain
// per-frame log-probability matrices and strings, and are pure Go.
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
// init}). DefaultModel returns the model embedded in the binary from
// asr/model/default.safetensors, or ErrNoDefaultModel in a build without
// one; DefaultOptions its decoding (a beam search with the embedded LM and
// lexicon). Audio shorter than MinSamples (465 samples for the wave input, 400
// for log-mel) gives an error wrapping ErrTooShortAudio, never a panic.
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
// A fine-tuned model (a checkpoint's path, or InitDefault for the embedded
// one) can be the starting point too: all of it, head and letters
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
// # Decoding
//
// A network's output is a T x V row-major []float32 of log probabilities
// (log-softmax over the vocabulary at each of T frames, 10 ms apart for the
// models of this module). Symbols are ints: the caller names the CTC blank,
// the word-boundary symbol "|" and the spelling of each symbol (for the
// fine-tuning vocabulary: blank, "|", "'", "A".."Z").
//
//   - GreedyAlign and GreedyDecode: best-path decoding, the most likely
//     symbol of each frame with repeats merged and blanks dropped.
//   - BeamSearch: a CTC prefix beam search after flashlight's lexicon-free
//     decoder, optionally with a word-level n-gram language model applied
//     as KenLM-based decoders do: each word's LM log probability (natural
//     log) times LMWeight, plus WordScore, when the "|" after it is emitted.
//     With a beam of 1 it is greedy decoding; without an LM it never returns
//     labels less likely than greedy decoding's.
//   - A Lexicon (NewLexicon, ReadLexicon: a word list, plain or gzipped)
//     restricts the beam search to its words, as flashlight's lexicon
//     decoder does; LookAhead gives each unfinished word the best LM score
//     of the words it begins, so that it is not pruned for lacking the LM
//     cost the finished ones have paid.
//   - DefaultOptions: the embedded default model's decoding, a beam of 512
//     with its word 4-gram LM and its lexicon.
//   - ReadARPA and ReadARPAFile read n-gram models in the ARPA format (as
//     KenLM's lmplz and SRILM write them, plain or gzipped) into an NGramLM
//     with Katz back-off; any type with the LM interface's three methods can
//     stand in for it.
//   - NGramBuilder counts the n-grams of sentences and writes an
//     interpolated Kneser-Ney model of them as an ARPA file, in pure Go
//     (`wav2vec lm`), where lmplz would otherwise be needed.
//   - SequenceLogProb (the CTC forward algorithm) and Align (forced
//     alignment) score and time a given label sequence.
//   - Words turns an alignment into words with start and end times in
//     seconds, clamped to the audio's duration; Transcript spells labels.
//
// # Scoring
//
// WordErrors and CharErrors count the substitutions, deletions and
// insertions of a minimum Levenshtein alignment, as jiwer does: WER and CER
// are (S + D + I) / N, N the number of reference words (or characters,
// spaces included, after stripping the ends). Counts add up over a corpus
// (ErrorCounts.Add) and the corpus rate is the rate of the sum. An empty
// reference makes every hypothesis word an insertion, at rate +Inf (0 when
// the hypothesis is empty too), where jiwer raises an error.
//
// Shape mistakes (a matrix that is not T x V, a blank index out of range)
// are programming errors and panic; data problems (a malformed ARPA file,
// labels too long for the audio) are returned as errors. NaN in a matrix
// reads as -Inf: it never wins and never panics.
package asr

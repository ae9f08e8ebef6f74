// Package asr is speech recognition on top of the pretrained networks: a
// CTC head fine-tuned on labelled audio, the decoding of its output into
// text, and the scoring of transcripts. The CTC head, the fine-tuning loop
// and the Transcriber API build on encoder and nn; the decoding and scoring
// parts, which exist now, import neither: they take plain per-frame
// log-probability matrices and strings, and are pure Go.
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
//   - ReadARPA and ReadARPAFile read n-gram models in the ARPA format (as
//     KenLM's lmplz and SRILM write them) into an NGramLM with Katz back-off;
//     any type with the LM interface's three methods can stand in for it.
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

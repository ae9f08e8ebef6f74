// Package ctc decodes the output of a CTC network into symbols, words and
// their times.
//
// A network's output is a T x V row-major []float32 of log probabilities
// (log-softmax over the vocabulary at each of T frames). Symbols are ints:
// the caller names the CTC blank, the word-boundary symbol "|" and the
// spelling of each symbol.
//
//   - GreedyAlign and GreedyDecode: best-path decoding, the most likely
//     symbol of each frame with repeats merged and blanks dropped.
//   - BeamSearch: a CTC prefix beam search after flashlight's lexicon-free
//     decoder, optionally with a word-level language model (package lm)
//     applied as KenLM-based decoders do: each word's LM log probability
//     (natural log) times LMWeight, plus WordScore, when the "|" after it
//     is emitted, and optionally restricted to a lexicon's words. A beam of
//     1 is greedy decoding; without an LM it never returns labels less
//     likely than greedy decoding's. Its memory is bounded by the beam, not
//     by T.
//   - SequenceLogProb (the CTC forward algorithm) and Align (forced
//     alignment) score and time a given label sequence; FrameLabels turns
//     an alignment into one label per frame.
//   - Words turns tokens into words with start and end times in seconds,
//     clamped to the audio's duration; Transcript spells labels.
//
// Shape mistakes (a matrix that is not T x V, a blank index out of range)
// are programming errors and panic; labels too long for the audio are
// returned as errors. NaN in a matrix reads as -Inf: it never wins and
// never panics.
package ctc

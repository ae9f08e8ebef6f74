// Package wer scores transcripts: word and character error rates.
//
// WordErrors and CharErrors count the substitutions, deletions and
// insertions of a minimum Levenshtein alignment, as jiwer does: WER and CER
// are (S + D + I) / N, N the number of reference words (or characters,
// spaces included, after stripping the ends). Counts add up over a corpus
// (ErrorCounts.Add) and the corpus rate is the rate of the sum. An empty
// reference makes every hypothesis word an insertion, at rate +Inf (0 when
// the hypothesis is empty too), where jiwer raises an error; CorpusRate
// divides by 1 instead, so that the rate always encodes as JSON. The package imports only the standard
// library.
package wer

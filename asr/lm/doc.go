// Package lm holds the word language models and lexicons that CTC beam
// search decodes with.
//
//   - LM is what a decoder needs of a language model: a start state, a
//     word's natural-log probability and next state, and the end of a
//     sentence's. NGramLM implements it
//     with Katz back-off over an ARPA n-gram model (ReadARPA, ReadARPAFile:
//     as KenLM's lmplz and SRILM write them, plain or gzipped).
//   - NGramBuilder counts the n-grams of sentences and writes an
//     interpolated Kneser-Ney model of them as an ARPA file, in pure Go
//     (`wav2vec lm`).
//   - A Lexicon (NewLexicon, ReadLexicon, ReadLexiconFile: a word list,
//     plain or gzipped) is a trie of words that restricts a beam search, as
//     flashlight's lexicon decoder does; LookAhead gives each unfinished
//     word the best LM score of the words it begins, so that it is not
//     pruned for lacking the LM cost finished words have paid.
//
// A malformed file is an error naming the file and line, never a panic.
package lm

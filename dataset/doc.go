// Package dataset reads and writes the files that describe a speech corpus
// the way fairseq's wav2vec tools do, and turns them into training batches.
//
// A manifest (NAME.tsv) has the root folder on its first line, then one line
// per utterance: a path relative to the root, a TAB, and the number of
// samples (frames at the file's own rate, as read from its header):
//
//	/data/LibriSpeech/train-clean-100
//	103/1240/103-1240-0000.wav	225360
//	103/1240/103-1240-0001.wav	255120
//
// Labels sit beside it with the same base name, one line per manifest row in
// the same order: NAME.wrd holds the words ("HELLO WORLD"), NAME.ltr the
// letters separated by spaces and words by " | ", ending " |"
// ("H E L L O | W O R L D |"). A vocabulary is the CTC blank (index 0)
// followed by the letters; the default one is "|", "'" and A-Z, and a
// fairseq dict.ltr.txt ("SYMBOL COUNT" per line) gives another.
//
// A Loader reads a manifest's audio in a background goroutine through the
// audio package (16 kHz mono float32), normalises every utterance to zero
// mean and unit variance, and yields batches that hold about a fixed number
// of seconds of audio: random crops of one common length for pretraining,
// zero padding with lengths and a padding mask for fine-tuning. The order
// and the crops depend only on the seed, the epoch and the batch's position,
// so training resumes on the same data. A Loader reads every file's header
// when it opens: a missing, unreadable or too-short file is reported once
// through a callback and skipped (it never stops the others), and a row
// whose sample count disagrees with its file's header is reported and kept,
// with the file's count.
package dataset

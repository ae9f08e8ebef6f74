// Package train holds the machinery the pretraining and fine-tuning loops
// share: a status line on stderr (Progress), the metrics.jsonl log
// (Metrics), periodic and best-so-far checkpoints written atomically
// (Saver), and small helpers such as Finite.
//
// A training run writes into one output folder:
//
//	DIR/metrics.jsonl              one JSON object per log interval
//	DIR/checkpoint_last.safetensors  every few minutes and at the end
//	DIR/checkpoint_best.safetensors  lowest validation loss so far
//
// Steps count optimiser updates. On resume, Metrics drops the lines written
// after the resumed step so the log reads as one uninterrupted run. The
// files are written through temporary files beside them; RemoveTemps
// clears those a killed run left, when the next run starts.
package train

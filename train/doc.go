// Package train holds what the pretraining and fine-tuning runs share: the
// training loop (Loop, driving a Trainer that each of them implements), a
// status line on stderr (Progress), the metrics.jsonl log (Metrics), and
// periodic and best-so-far checkpoints written atomically (Saver).
//
// A training run writes into one output folder:
//
//	DIR/metrics.jsonl                one JSON object per log interval
//	DIR/checkpoint_last.safetensors  every few minutes and at the end
//	DIR/checkpoint_best.safetensors  best validation score so far (the
//	                                 trainer's: pretraining's loss,
//	                                 fine-tuning's CER)
//
// Steps count optimiser updates. On resume, Metrics drops the lines written
// after the resumed step so the log reads as one uninterrupted run. The
// files are written through temporary files beside them; RemoveTemps
// clears those a killed run left, when the next run starts.
package train

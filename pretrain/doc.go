// Package pretrain trains the encoder and context network of wav2vec 2.0
// on unlabeled audio: span masking (encoder.SpanMask), the learned mask
// vector, distractors
// drawn from the masked frames of the same utterance, the contrastive loss
// (cosine similarity over a temperature, cross-entropy against K
// distractors), the codebook diversity loss and the feature penalty, Adam
// with warm-up and decay, gradient clipping, checkpoints that resume
// bit-identically, and feature extraction (z, c or q) from a checkpoint:
// Extract from samples in memory, ExtractTo from a WAV stream in windows,
// in memory bounded by a window, into a .npy file. Run drives a Trainer
// with train.Loop, as fine-tuning does.
//
// The model reads the waveform, or with the encoder's logmel input its
// 80-bin log-mel features: then there is no feature encoder, the quantizer
// reads the normalised log-mel frames, and there is no feature penalty.
//
// The context network is the convolutional one of encoder.Model, or, with
// FullConfig.Transformer, wav2vec 2.0's transformer (encoder.Transformer,
// named as Hugging Face's Wav2Vec2Model): the same masking, quantizer,
// distractors and losses. A transformer model exports to Hugging Face's
// Wav2Vec2ForPreTraining layout (Model.Published, published.SaveHF), and
// FromPublished reads one back, or a fairseq pretraining checkpoint, to
// continue its pretraining (Options.Init).
//
// The targets the masked frames are told apart by are the quantizer's
// codes by default. Config.Targets "mfcc" replaces them with HuBERT's
// (Hsu et al. 2021) first-iteration targets: before the first update,
// k-means (k-means++ seeding, Lloyd's rounds) clusters the standardised
// MFCCs, with deltas and delta-deltas, of a random sample of the training
// audio, and each frame's target is its cluster, embedded by project_q
// from a one-hot vector; the same contrastive loss then picks the true
// cluster among the distractors' (a distractor of the same cluster is left
// out). "c" clusters the context vectors of an earlier checkpoint instead
// (the teacher, Config.TargetsFrom), as HuBERT's later iterations do. The
// centroids are saved in the checkpoint; the quantizer is not trained.
//
// Config.Targets "teacher" is data2vec's non-contrastive objective
// (Baevski et al. 2022; teacher.go). A teacher, a copy of the student's
// feature encoder and context network (not the head), runs on the
// unmasked crops as a separate forward-only program in inference mode (no
// dropout, no gradients). The targets are the average of its top K layers,
// K = min(AverageTopK, layers) (8; tiny's conv network has 10 blocks, tiny-
// transformer 4 layers), each instance-normalised per utterance and
// channel over time (eps 1e-5, no affine), computed in Go between the two
// programs. The layers are the transformer's layer outputs (after the
// layer's final LayerNorm in the post-LN layout: data2vec takes the
// feed-forward output before that residual sum and norm, which the
// instance norm makes similar) and the conv network's block outputs (the
// residual stream, before the final norm). The student sees the crop
// span-masked as for the other targets (Clones differently masked copies
// of each crop per teacher pass, data2vec 2.0's sharing of the teacher's
// cost), and the loss is the mean over masked frames and channels of
// (Head(c) - y)^2, or smooth-L1 with beta LossBeta > 0 (nn.SmoothL1):
// data2vec divides the per-frame sum by sqrt(Dim) instead of Dim, a
// constant factor Adam does not see. With DecoderLayers > 0 the head
// reads data2vec 2.0's convolutional decoder's output instead of c
// (decoder.go). After every applied update the
// teacher moves, w = tau*w + (1-tau)*s, with tau rising linearly from
// EMADecay (0.999) at the first update to EMAEndDecay (0.9999) at update
// EMAAnnealEndStep and staying there (data2vec's ema_anneal_end_step);
// every rank of a data-parallel run applies it to the same averaged
// update, so the teachers stay identical. The teacher is saved in the
// checkpoint as extra tensors (pretrain.teacher.NAME), so a resumed run
// is bit-identical; inference (Extract, fine-tuning, probing) reads the
// student and ignores the head and the teacher. The collapse guard: the
// variance of the averaged targets across the masked frames (mean over
// channels) is logged at every update; when it stays below CollapseRatio
// times its value at the run's first update for CollapseUpdates updates in
// a row, Run stops with ErrCollapse and saves no checkpoint during such a
// streak. checkpoint_best is chosen by the validation regression loss,
// which is measured against the teacher of the moment: it moves with the
// teacher, so it ranks the checkpoints of one run, not runs.
//
// Every crop of a batch has the same length (dataset.Loader's Pretrain
// mode), so a training graph depends only on (batch size, samples): the
// contrastive loss is computed over every frame with a per-frame weight (1
// for masked frames) and per-frame distractor indices set before each run,
// and compiled programs are cached by shape.
//
// Randomness: a run has one seed. The masks, the distractors and the
// Gumbel noise of a batch come from a generator seeded from (seed, epoch,
// batch position), and the dropout masks from the program reseeded the
// same way, so a resumed run draws exactly what an uninterrupted run
// would, without storing generator states.
package pretrain

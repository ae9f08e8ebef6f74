package encoder

import (
	"fmt"

	"github.com/wav2vec-go/wav2vec/features"
)

// Input turns 16 kHz audio into the tensor the model reads: the waveform
// itself, [B, 1, L], or for the logmel input its log-mel features,
// [B, LogMelBins, frames of L samples]. Pretraining, fine-tuning and
// transcription share it, so every one of them feeds a model the same way.
// An Input is safe for concurrent use.
type Input struct {
	cfg Config
	mel *features.Extractor // logmel input only
}

// NewInput returns the Input of a model with config cfg.
func NewInput(cfg Config) (*Input, error) {
	cfg = cfg.withDefaults()
	in := &Input{cfg: cfg}
	if cfg.Input == "logmel" {
		mel, err := features.New(features.Config{NumMels: cfg.LogMelBins})
		if err != nil {
			return nil, fmt.Errorf("encoder: %w", err)
		}
		in.mel = mel
	}
	return in, nil
}

// Mel returns the log-mel extractor, or nil for the waveform input.
func (in *Input) Mel() *features.Extractor { return in.mel }

// FeatureDim returns the width of feats, the quantizer's input: ConvDim,
// or LogMelBins for the logmel input.
func (in *Input) FeatureDim() int {
	if in.mel != nil {
		return in.cfg.LogMelBins
	}
	return in.cfg.ConvDim
}

// Frames returns the number of model frames that n samples give (0 when
// they are too short for one).
func (in *Input) Frames(n int) int {
	if in.mel != nil {
		return in.cfg.Frames(in.mel.NumFrames(n))
	}
	return in.cfg.Frames(n)
}

// MinSamples returns the shortest input, in samples, that gives one frame.
func (in *Input) MinSamples() int {
	if in.mel != nil {
		return in.mel.Config().FrameLength
	}
	return in.cfg.MinSamples()
}

// Hop returns the samples between two frames.
func (in *Input) Hop() int {
	if in.mel != nil {
		return in.mel.Config().FrameShift
	}
	return product(in.cfg.ConvStrides)
}

// Shape returns the input tensor's shape for B rows of L samples.
func (in *Input) Shape(B, L int) []int {
	if in.mel != nil {
		return []int{B, in.mel.Dim(), in.mel.NumFrames(L)}
	}
	return []int{B, 1, L}
}

// Batch returns rows, each at most L samples, as the values of an input
// tensor of shape Shape(len(rows), L): a row shorter than L is
// zero-padded (its samples, or the frames it lacks).
func (in *Input) Batch(rows [][]float32, L int) []float32 {
	sh := in.Shape(len(rows), L)
	per := sh[1] * sh[2]
	dst := make([]float32, len(rows)*per)
	for b, r := range rows {
		if len(r) > L {
			panic(fmt.Sprintf("encoder: Input.Batch: row %d has %d samples, more than %d", b, len(r), L))
		}
		row := dst[b*per : (b+1)*per]
		if in.mel == nil {
			copy(row, r)
			continue
		}
		bins, T := sh[1], sh[2]
		feats, n := in.mel.LogMel(r)
		for t := range n {
			for k := range bins {
				row[k*T+t] = feats[t*bins+k]
			}
		}
	}
	return dst
}

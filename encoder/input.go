package encoder

import (
	"fmt"
	"sync"

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

	mu     sync.Mutex
	warped map[float64]*features.Extractor // by VTLN warp factor, built on first use
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
	dst, err := in.BatchWarped(rows, L, nil)
	if err != nil {
		panic(err) // unreachable: no warp, no extractor to build
	}
	return dst
}

// BatchWarped is Batch with row b's log-mel features computed with the VTLN
// warp factor warps[b] (features.Config.VTLNWarp; 1 is no warp), as
// augmentation for training. warps is nil or has one factor per row; the
// waveform input takes only nil. An extractor is built, once, for each
// distinct factor, so the factors should come from a small set.
func (in *Input) BatchWarped(rows [][]float32, L int, warps []float64) ([]float32, error) {
	if warps != nil && (in.mel == nil || len(warps) != len(rows)) {
		return nil, fmt.Errorf("encoder: %d warp factors for %d rows of the %s input", len(warps), len(rows), in.cfg.Input)
	}
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
		mel := in.mel
		if warps != nil && warps[b] != 1 {
			var err error
			if mel, err = in.warpedMel(warps[b]); err != nil {
				return nil, err
			}
		}
		bins, T := sh[1], sh[2]
		feats, n := mel.LogMel(r)
		for t := range n {
			for k := range bins {
				row[k*T+t] = feats[t*bins+k]
			}
		}
	}
	return dst, nil
}

// warpedMel returns the log-mel extractor with VTLN warp factor w.
func (in *Input) warpedMel(w float64) (*features.Extractor, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if e := in.warped[w]; e != nil {
		return e, nil
	}
	cfg := in.mel.Config()
	cfg.VTLNWarp = w
	e, err := features.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoder: %w", err)
	}
	if in.warped == nil {
		in.warped = make(map[float64]*features.Extractor)
	}
	in.warped[w] = e
	return e, nil
}

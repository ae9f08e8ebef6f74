package asr

import (
	"fmt"
	"math"
)

// windowFrames converts window and overlap lengths in seconds into a window
// length and a margin in frames, checking that the margin covers the
// context network's reach so that the seams change nothing.
func (m *Model) windowFrames(windowSec, overlapSec float64) (win, margin int, err error) {
	fs := m.FrameSeconds()
	win = int(math.Round(windowSec / fs))
	margin = int(math.Round(overlapSec / 2 / fs))
	var reach int
	if m.Transformer != nil {
		reach = m.Transformer.Config.Reach()
	} else {
		reach = m.Encoder.Config.Reach()
	}
	switch {
	case margin < reach:
		return 0, 0, fmt.Errorf("%w: an overlap of %g s leaves %d frames on each side of a seam; the model's context network reaches %d frames (%.2f s): use an overlap of at least %.2f s",
			ErrOptions, overlapSec, margin, reach, float64(reach)*fs, 2*float64(reach)*fs)
	case win-2*margin < 1:
		return 0, 0, fmt.Errorf("%w: a window of %g s is not longer than its overlap of %g s", ErrOptions, windowSec, overlapSec)
	}
	return win, margin, nil
}

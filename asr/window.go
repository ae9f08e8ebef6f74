package asr

import (
	"fmt"
	"math"
)

// A window is one piece of a long input that goes through the network on
// its own: samples [start, end). Its output frame j is frame first+j of the
// whole input; frames [keep0, keep1) of it are kept. Consecutive windows
// overlap by two margins, and each keeps only its centre part, so every
// kept frame sees at least a margin of real audio on both sides (or the
// true start or end of the input, as the whole-file run does).
type window struct {
	start, end   int
	first        int
	keep0, keep1 int
}

// contextReach returns how many frames the context network looks ahead (and
// back): (kernel-1)/2 times the sum of the dilations.
func (m *Model) contextReach() int {
	c := m.Encoder.Cfg
	s := 0
	for _, d := range c.ContextDilations {
		s += max(d, 1)
	}
	return (max(c.ContextKernel, 1) - 1) / 2 * s
}

// windowFrames converts window and overlap lengths in seconds into a window
// length and a margin in frames, checking that the margin covers the
// context network's reach so that the seams change nothing.
func (m *Model) windowFrames(windowSec, overlapSec float64) (win, margin int, err error) {
	fs := m.FrameSeconds()
	win = int(math.Round(windowSec / fs))
	margin = int(math.Round(overlapSec / 2 / fs))
	reach := m.contextReach()
	switch {
	case margin < reach:
		return 0, 0, fmt.Errorf("%w: an overlap of %g s leaves %d frames on each side of a seam; the model's context network reaches %d frames (%.2f s): use an overlap of at least %.2f s",
			ErrOptions, overlapSec, margin, reach, float64(reach)*fs, 2*float64(reach)*fs)
	case win-2*margin < 1:
		return 0, 0, fmt.Errorf("%w: a window of %g s is not longer than its overlap of %g s", ErrOptions, windowSec, overlapSec)
	}
	return win, margin, nil
}

// planWindows cuts an input of n samples into windows of win frames whose
// centre parts (win - 2*margin frames) tile its frames; the first and the
// last window reach further in than their margin so that every window has
// the same length (one compiled graph serves them all). An input of at
// most win frames is one window.
func (m *Model) planWindows(n, win, margin int) []window {
	F := m.Frames(n)
	if F <= win {
		return []window{{start: 0, end: n, first: 0, keep0: 0, keep1: F}}
	}
	core := win - 2*margin
	var ws []window
	for cs := 0; cs < F; cs += core {
		ce := min(cs+core, F)
		fs := max(0, cs-margin)
		fe := fs + win
		if fe > F {
			fe, fs = F, F-win
		}
		w := window{start: fs * m.hop, end: (fe-1)*m.hop + m.rf, first: fs, keep0: cs - fs, keep1: ce - fs}
		if fe == F {
			w.end = n
		}
		ws = append(ws, w)
	}
	return ws
}

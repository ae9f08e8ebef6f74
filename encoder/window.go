package encoder

import (
	"fmt"
	"io"
	"slices"
)

// A Window is one piece of a long input that goes through the network on
// its own: samples [Start, End). Its output frame j is frame First+j of the
// whole input; frames [Keep0, Keep1) of it are kept. Consecutive windows
// overlap by two margins, and each keeps only its centre part, so every
// kept frame sees at least a margin of real audio on both sides (or the
// true start or end of the input, as the whole-file run does).
type Window struct {
	Start, End   int
	First        int
	Keep0, Keep1 int
}

// Reach returns how many frames the context network looks ahead (and
// back): (ContextKernel-1)/2 times the sum of the dilations. A window's
// margin of at least Reach frames makes its kept frames those of the
// whole-file run.
func (c Config) Reach() int {
	c = c.withDefaults()
	s := 0
	for _, d := range c.ContextDilations {
		s += max(d, 1)
	}
	return (max(c.ContextKernel, 1) - 1) / 2 * s
}

// Windows cuts an input of n samples into windows of win frames whose
// centre parts (win - 2*margin frames, at least 1) tile its frames; the
// first and the last window reach further in than their margin, so that
// every window has the same length and one compiled graph serves them all.
// An input of at most win frames is one window.
func (in *Input) Windows(n, win, margin int) []Window {
	F := in.Frames(n)
	if F <= win {
		return []Window{{Start: 0, End: n, First: 0, Keep0: 0, Keep1: F}}
	}
	hop, rf := in.Hop(), in.MinSamples()
	core := max(win-2*margin, 1)
	var ws []Window
	for cs := 0; cs < F; cs += core {
		ce := min(cs+core, F)
		fs := max(0, cs-margin)
		fe := fs + win
		if fe > F {
			fe, fs = F, F-win
		}
		w := Window{Start: fs * hop, End: (fe-1)*hop + rf, First: fs, Keep0: cs - fs, Keep1: ce - fs}
		if fe == F {
			w.End = n
		}
		ws = append(ws, w)
	}
	return ws
}

// EachWindow reads the n samples of src in order (Read as io.Reader's, but
// of samples; io.EOF at the end) and calls f with each window of ws, in
// order, and its samples, which are valid during the call only. It holds
// one window of samples at a time. An input that ends before n samples is
// an error wrapping io.ErrUnexpectedEOF.
func EachWindow(src interface{ Read([]float32) (int, error) }, n int, ws []Window, f func(w Window, x []float32) error) error {
	var buf []float32 // samples [at, at+len(buf)) of the input
	at := 0
	for i, w := range ws {
		for at+len(buf) < w.End {
			buf = slices.Grow(buf, min(w.End-at-len(buf), 1<<16))
			k, err := src.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+k]
			if err == io.EOF && at+len(buf) < w.End {
				return fmt.Errorf("encoder: the input ended after %d of %d samples: %w", at+len(buf), n, io.ErrUnexpectedEOF)
			}
			if err != nil && err != io.EOF {
				return err
			}
		}
		if err := f(w, buf[w.Start-at:w.End-at]); err != nil {
			return err
		}
		if i+1 < len(ws) {
			next := ws[i+1].Start
			buf = buf[:copy(buf, buf[next-at:])]
			at = next
		}
	}
	return nil
}

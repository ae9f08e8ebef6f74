package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// Field is one named value on the status line, such as the loss.
type Field struct {
	Name  string
	Value float64
}

// Progress writes a one-line training status to a writer (normally stderr):
//
//	step 120/5000  loss 3.214  ppl 45.2  lr 0.00024  12.3 audio-s/s  ETA 6m40s
//
// On a terminal the line is rewritten in place with a carriage return (at
// most every Refresh); otherwise a full line is written every Interval, on
// the first update and on Done. In quiet mode nothing is written.
type Progress struct {
	// Interval between lines when the writer is not a terminal (10 s).
	Interval time.Duration
	// Refresh is the shortest time between rewrites on a terminal (250 ms).
	Refresh time.Duration

	w        io.Writer
	total    int
	quiet    bool
	terminal bool
	now      func() time.Time

	start      time.Time
	firstStep  int
	started    bool
	audio      float64
	lastWrite  time.Time
	wrote      bool
	lastLen    int
	lastLine   string
	pendingOut bool // the last update has not been written
}

// NewProgress returns a status line for a run of total steps (0 if unknown:
// no ETA). The writer is treated as a terminal when it is an *os.File
// attached to a character device.
func NewProgress(w io.Writer, total int, quiet bool) *Progress {
	return &Progress{
		Interval: 10 * time.Second,
		Refresh:  250 * time.Millisecond,
		w:        w,
		total:    total,
		quiet:    quiet,
		terminal: isTerminal(w),
		now:      time.Now,
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Update reports that step (the number of updates done so far) was reached
// after processing audioSeconds of audio since the previous Update. The
// speed and the ETA are measured from the first Update on (the work before
// it, such as compiling graphs, is not counted), so a resumed run reports
// its own speed.
func (p *Progress) Update(step int, audioSeconds float64, fields ...Field) {
	now := p.now()
	if !p.started {
		p.started = true
		p.start = now
		p.firstStep = step
	} else {
		p.audio += audioSeconds
	}
	p.lastLine = p.format(step, now, fields)
	p.pendingOut = true
	if p.quiet {
		return
	}
	due := !p.wrote
	if p.terminal {
		due = due || now.Sub(p.lastWrite) >= p.Refresh
	} else {
		due = due || now.Sub(p.lastWrite) >= p.Interval
	}
	if due {
		p.write(now)
	}
}

// Done writes the last status and ends the line. It is safe to call when
// Update was never called.
func (p *Progress) Done() {
	if p.quiet || !p.started {
		return
	}
	if p.pendingOut {
		p.write(p.now())
	}
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) write(now time.Time) {
	p.lastWrite = now
	p.wrote = true
	p.pendingOut = false
	if !p.terminal {
		fmt.Fprintln(p.w, p.lastLine)
		return
	}
	line := p.lastLine
	pad := ""
	if n := p.lastLen - len(line); n > 0 {
		pad = strings.Repeat(" ", n) // blank out the rest of a longer old line
	}
	p.lastLen = len(line)
	fmt.Fprint(p.w, "\r"+line+pad)
}

// format builds the status line.
func (p *Progress) format(step int, now time.Time, fields []Field) string {
	var b strings.Builder
	if p.total > 0 {
		fmt.Fprintf(&b, "step %d/%d", step, p.total)
	} else {
		fmt.Fprintf(&b, "step %d", step)
	}
	for _, f := range fields {
		fmt.Fprintf(&b, "  %s %s", f.Name, formatValue(f.Value))
	}
	elapsed := now.Sub(p.start).Seconds()
	if elapsed > 0 {
		fmt.Fprintf(&b, "  %.1f audio-s/s", p.audio/elapsed)
	}
	if done := step - p.firstStep; p.total > 0 && done > 0 && elapsed > 0 && step <= p.total {
		eta := time.Duration(float64(p.total-step) * elapsed / float64(done) * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
	}
	return b.String()
}

// formatValue prints v with four significant digits, without exponent for
// ordinary magnitudes.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return fmt.Sprintf("%.4g", v)
}

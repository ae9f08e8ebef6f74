package train

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeClock returns a clock that advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 100, false)
	p.now = fakeClock(5 * time.Second)
	p.Interval = 10 * time.Second
	// Clock at Update k (1-based) is 5k s; start = 5 s at step 1.
	for step := 1; step <= 5; step++ {
		p.Update(step, 20, Field{"loss", 3.21456}, Field{"lr", 0.00025})
	}
	p.Done()
	got := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	want := []string{
		// first update: no elapsed time yet, so no speed or ETA
		"step 1/100  loss 3.215  lr 0.00025",
		// step 3 at 15 s: 40 s of audio since step 1 in 10 s; 2 steps in 10 s, 97 to go
		"step 3/100  loss 3.215  lr 0.00025  4.0 audio-s/s  ETA 8m5s",
		// step 5 at 25 s: 80 s in 20 s; 4 steps in 20 s, 95 to go
		"step 5/100  loss 3.215  lr 0.00025  4.0 audio-s/s  ETA 7m55s",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestProgressTerminalRewrites(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 0, false)
	p.terminal = true
	p.now = fakeClock(time.Second)
	p.Update(1, 0, Field{"loss", 10.5})
	p.Update(2, 0, Field{"loss", 1})
	p.Done()
	out := buf.String()
	if !strings.HasPrefix(out, "\rstep 1  loss 10.5") {
		t.Errorf("output %q does not start with a carriage return and the first line", out)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("output %q: want exactly one newline, at the end", out)
	}
	// The second line is shorter than the first: the rest is blanked.
	parts := strings.Split(strings.TrimSuffix(out, "\n"), "\r")
	if len(parts) != 3 || len(parts[2]) < len(parts[1]) {
		t.Errorf("rewrites %q: the later line must cover the earlier one", parts)
	}
}

func TestProgressQuiet(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 10, true)
	for i := 1; i <= 10; i++ {
		p.Update(i, 1, Field{"loss", 1})
	}
	p.Done()
	if buf.Len() != 0 {
		t.Errorf("quiet progress wrote %q", buf.String())
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{3.14159, "3.142"}, {0.000251, "0.000251"}, {1e-7, "1e-07"}, {12345.6, "1.235e+04"},
		{math.NaN(), "NaN"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"},
	} {
		if got := formatValue(tc.v); got != tc.want {
			t.Errorf("formatValue(%g) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

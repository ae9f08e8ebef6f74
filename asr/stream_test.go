package asr

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/internal/wavtest"
)

// TestStream: a WAV stream transcribed segment by segment gives what
// Transcribe gives for its samples; the segments tile the input in order,
// none longer than a window, and each word lies inside its segment.
func TestStream(t *testing.T) {
	m := newToyModel(t, InitLogMel)
	var x []float32
	for s := uint64(0); len(x) < 100*audio.SampleRate; s++ {
		x = append(x, toySignal(s, 4)...)
	}
	var wav bytes.Buffer
	if err := audio.Encode(&wav, x, audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	x, _, err := audio.Decode(bytes.NewReader(wav.Bytes())) // as 16-bit samples
	if err != nil {
		t.Fatal(err)
	}
	for _, beam := range []int{0, 8} {
		tr, err := NewTranscriber(m, Options{Beam: beam})
		if err != nil {
			t.Fatal(err)
		}
		want, err := tr.Transcribe(x)
		if err != nil {
			t.Fatal(err)
		}
		var segs []Segment
		got := Result{}
		d, err := tr.Stream(bytes.NewReader(wav.Bytes()), func(s Segment) error {
			segs = append(segs, s)
			return collect(&got)(s)
		})
		if err != nil {
			t.Fatal(err)
		}
		got.Duration = d
		if got.Text != want.Text || !slices.Equal(got.Words, want.Words) || d != want.Duration {
			t.Errorf("beam %d: Stream gives %.100q (%d words, %g s), Transcribe %.100q (%d words, %g s)",
				beam, got.Text, len(got.Words), d, want.Text, len(want.Words), want.Duration)
		}
		if len(segs) < 4 {
			t.Errorf("beam %d: %d segments for %g s", beam, len(segs), d)
		}
		end := 0.0
		for i, s := range segs {
			if s.Start != end || s.End <= s.Start || s.End-s.Start > DefaultWindowSeconds+1e-9 {
				t.Errorf("beam %d: segment %d spans [%g, %g) after %g", beam, i, s.Start, s.End, end)
			}
			for _, w := range s.Words {
				if w.Start < s.Start || w.End > s.End {
					t.Errorf("beam %d: word %+v outside its segment [%g, %g)", beam, w, s.Start, s.End)
				}
			}
			end = s.End
		}
		if end != d {
			t.Errorf("beam %d: the segments end at %g of %g s", beam, end, d)
		}
	}

	// An error from emit stops the work and comes back.
	tr, err := NewTranscriber(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	before := runtime.NumGoroutine()
	if _, err := tr.Stream(bytes.NewReader(wav.Bytes()), func(Segment) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("emit's error: %v after %d calls", err, calls)
	}
	// The network's goroutine has stopped too.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines after the stream stopped, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A truncated file is refused before any segment.
	calls = 0
	if _, err := tr.Stream(bytes.NewReader(wav.Bytes()[:wav.Len()/2]), func(Segment) error { calls++; return nil }); !errors.Is(err, io.ErrUnexpectedEOF) || calls != 0 {
		t.Errorf("a truncated file: %v after %d segments", err, calls)
	}
}

// peakHeap returns how far the heap in use rose, at most, above its live
// size before f while f runs, with the collector kept close to the live
// heap.
func peakHeap(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak - min(base, peak)
}

// TestStreamMemory transcribes 2 and 20 minutes of a seekable WAV stream
// with the beam search and the word timing: the heap in use rises to the
// same height for both, far below the 77 MB that the 20 minutes' samples
// alone would take.
func TestStreamMemory(t *testing.T) {
	m := newToyModel(t, InitLogMel)
	tr, err := NewTranscriber(m, Options{Beam: 8})
	if err != nil {
		t.Fatal(err)
	}
	var clip []float32
	for s := uint64(0); len(clip) < 20*audio.SampleRate; s++ {
		clip = append(clip, toySignal(s, 4)...)
	}
	peaks := map[int]uint64{}
	for _, minutes := range []int{2, 20} {
		var res Result
		var err error
		peaks[minutes] = peakHeap(func() {
			res, err = tr.TranscribeReader(wavtest.Repeat(clip, int64(minutes)*60*audio.SampleRate))
		})
		words := len(res.Words)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d min: %d words, heap in use rose by %.1f MB", minutes, words, float64(peaks[minutes])/1e6)
	}
	if p2, p20 := peaks[2], peaks[20]; p20 > p2+p2/4 || p20 > 40e6 {
		t.Errorf("the heap in use rose by %.1f MB for 2 minutes, %.1f MB for 20", float64(p2)/1e6, float64(p20)/1e6)
	}
}

package asr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// TestLongInput transcribes two minutes with the default 30 s windows: the
// result equals the whole-file run, and only windows of bounded length are
// ever compiled (three shapes: the first, middle and last windows), so
// memory does not grow with the input.
func TestLongInput(t *testing.T) {
	m := newToyModel(t, InitScratch)
	var x []float32
	for s := uint64(0); len(x) < 120*audio.SampleRate; s++ {
		x = append(x, toySignal(s, 4)...)
	}
	windowed, err := NewTranscriber(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := NewTranscriber(m, Options{WindowSeconds: 200})
	if err != nil {
		t.Fatal(err)
	}
	a, err := windowed.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := whole.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != b.Text || len(a.Words) != len(b.Words) {
		t.Errorf("windowed and whole-file transcripts differ:\n%.200q\n%.200q", a.Text, b.Text)
	}
	for _, c := range windowed.idle {
		if c.Len() > 3 { // the first, the middle and the last windows
			t.Errorf("%d programs compiled for one long input", c.Len())
		}
		for _, k := range c.Keys() {
			if k.L > 31*audio.SampleRate {
				t.Errorf("a window of %d samples (%.1f s) went through the network", k.L, float64(k.L)/audio.SampleRate)
			}
		}
	}
	if n := len(b.Words); n == 0 || a.Words[n-1].End > a.Duration {
		t.Errorf("%d words; last ends at %v of %g s", n, a.Words, a.Duration)
	}
}

func TestTranscribeReaderAndConcurrency(t *testing.T) {
	m := newToyModel(t, InitLogMel)
	tr, err := NewTranscriber(m, Options{Beam: 4})
	if err != nil {
		t.Fatal(err)
	}
	// WAV streams, and what Transcribe makes of their decoded samples.
	streams := make([][]byte, 6)
	want := make([]Result, len(streams))
	for i := range streams {
		var buf bytes.Buffer
		if err := audio.Encode(&buf, toySignal(uint64(i), 1+i%3), audio.SampleRate); err != nil {
			t.Fatal(err)
		}
		streams[i] = buf.Bytes()
		x, _, err := audio.Decode(bytes.NewReader(streams[i]))
		if err != nil {
			t.Fatal(err)
		}
		if want[i], err = tr.Transcribe(x); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	got := make([]Result, len(streams))
	errs := make([]error, len(streams))
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = tr.TranscribeReader(bytes.NewReader(streams[i]))
		}()
	}
	wg.Wait()
	for i := range streams {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i].Text != want[i].Text || got[i].Duration != want[i].Duration || len(got[i].Words) != len(want[i].Words) {
			t.Errorf("stream %d read concurrently: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := tr.TranscribeReader(strings.NewReader("not a wav file")); err == nil {
		t.Error("no error for a bad stream")
	}
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	path := writeToyCorpus(t, dir, "test", 3, 8)
	// A clip too short for the model, with an empty reference.
	if err := audio.WriteFile(filepath.Join(dir, "test", "short.wav"), make([]float32, 100), audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	for ext, line := range map[string]string{"tsv": "short.wav\t100\n", "ltr": "\n", "wrd": "\n"} {
		f, err := os.OpenFile(filepath.Join(dir, "test."+ext), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(f, line)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := NewTranscriber(newToyModel(t, InitScratch), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), tr, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Utterances != 4 || res.TooShort != 1 || res.AudioSeconds < 1 || res.RTF <= 0 {
		t.Errorf("result %+v", res)
	}
	if res.Words.RefLen() == 0 || res.WER != float64(res.Words.Errors())/float64(res.Words.RefLen()) {
		t.Errorf("WER %g from %+v", res.WER, res.Words)
	}
}

// BenchmarkTranscribe: the tiny model (random weights: the speed does not
// depend on them), 10 s of audio, greedy decoding.
func BenchmarkTranscribe(b *testing.B) {
	m, err := New(encoder.Tiny(), nil, InitScratch, testRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTranscriber(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var x []float32
	for s := uint64(0); len(x) < 10*audio.SampleRate; s++ {
		x = append(x, toySignal(s, 3)...)
	}
	x = x[:10*audio.SampleRate]
	if _, err := tr.Transcribe(x); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Transcribe(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
}

// TestOptionsErrors: bad options are ErrOptions errors; an LM or a lexicon
// with a beam of 1 (greedy) is one, not a silent switch to a wider beam.
func TestOptionsErrors(t *testing.T) {
	m := newToyModel(t, InitLogMel)
	lex := lm.NewLexicon([]string{"AB", "BA"})
	for name, opt := range map[string]Options{
		"negative beam":       {Beam: -1},
		"window":              {WindowSeconds: -1},
		"NaN LM weight":       {LMWeight: math.NaN()},
		"lexicon, greedy":     {Lexicon: lex},
		"lexicon, beam 1":     {Lexicon: lex, Beam: 1},
		"overlap is infinite": {OverlapSeconds: math.Inf(1)},
	} {
		if _, err := NewTranscriber(m, opt); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v, want ErrOptions", name, err)
		}
	}
	if _, err := NewTranscriber(m, Options{Lexicon: lex, Beam: 2}); err != nil {
		t.Errorf("lexicon with beam 2: %v", err)
	}
}

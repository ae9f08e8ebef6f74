package defaultmodel

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/asr/wer"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/internal/memtest"
	"github.com/wav2vec-go/wav2vec/internal/wavtest"
)

func TestModel(t *testing.T) {
	m, err := Model()
	if _, serr := fs.Stat(files, modelPath); errors.Is(serr, fs.ErrNotExist) {
		if !errors.Is(err, ErrNoModel) || m != nil {
			t.Fatalf("without an embedded model: %v, %v", m, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("embedded model: %v", err)
	}
	if m2, _ := Model(); m2 != m {
		t.Error("Model loads the model again")
	}
	// New gives a copy of one's own, equal to the shared one.
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if c == m || len(c.Params()) != len(m.Params()) {
		t.Fatal("New returns the shared model")
	}
	for i, p := range c.Params() {
		q := m.Params()[i]
		if &p.Data[0] == &q.Data[0] || !slices.Equal(p.Data, q.Data) {
			t.Errorf("%s: not an equal copy", p.Name)
		}
	}
}

func TestOptions(t *testing.T) {
	if _, err := Model(); err != nil {
		t.Skip("no default model embedded")
	}
	opt, err := Options()
	if err != nil {
		t.Fatal(err)
	}
	if _, serr := fs.Stat(files, lmPath); errors.Is(serr, fs.ErrNotExist) {
		if opt.LM != nil || opt.Lexicon != nil || opt.Beam != 0 {
			t.Errorf("without an embedded LM: %+v, want greedy", opt)
		}
		return
	}
	ngram, ok := opt.LM.(*lm.NGramLM)
	if !ok || ngram.Order() != 4 || opt.Beam != Beam || opt.LMWeight != LMWeight || opt.Lexicon == nil || !opt.Lexicon.HasLookAhead() {
		t.Fatalf("options %+v", opt)
	}
	if opt.Lexicon.Len() < 100000 {
		t.Errorf("lexicon of %d words", opt.Lexicon.Len())
	}
	refs, err := os.ReadFile("../../testdata/speech/transcripts.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(refs)), "\n") {
		_, ref, _ := strings.Cut(line, "\t")
		for _, w := range strings.Fields(ref) {
			if !opt.Lexicon.Contains(w) {
				t.Errorf("the lexicon lacks %q", w)
			}
		}
	}
	if o2, _ := Options(); o2.LM != opt.LM || o2.Lexicon != opt.Lexicon {
		t.Error("DefaultOptions loads the LM again")
	}
}

// defaultTranscriber returns a greedy Transcriber of the embedded model,
// and skips the test when none is embedded.
func defaultTranscriber(tb testing.TB) *asr.Transcriber {
	tb.Helper()
	m, err := Model()
	if errors.Is(err, ErrNoModel) {
		tb.Skip("no default model embedded")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// defaultDecoder is the embedded model with its default decoding (the
// embedded LM and lexicon, what `wav2vec transcribe` does).
func defaultDecoder(tb testing.TB) *asr.Transcriber {
	tb.Helper()
	m := defaultTranscriber(tb).Model()
	opt, err := Options()
	if err != nil || opt.LM == nil {
		tb.Skipf("no default LM embedded (%v)", err)
	}
	tr, err := asr.NewTranscriber(m, opt)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// fixtureCER transcribes the recipe's three test WAVs and returns the CER
// over them.
func fixtureCER(t *testing.T, tr *asr.Transcriber) float64 {
	t.Helper()
	refs, err := os.ReadFile("../../testdata/speech/transcripts.txt")
	if err != nil {
		t.Fatal(err)
	}
	var total wer.ErrorCounts
	for _, line := range strings.Split(strings.TrimSpace(string(refs)), "\n") {
		name, ref, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("transcripts.txt: bad line %q", line)
		}
		x, err := audio.ReadFile("../../testdata/speech/" + name + ".wav")
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Transcribe(x)
		if err != nil {
			t.Fatal(err)
		}
		c := wer.CharErrors(ref, res.Text)
		t.Logf("%s: %q (CER %.1f%%)", name, res.Text, 100*c.Rate())
		total.Add(c)
	}
	t.Logf("CER over the fixtures %.1f%%", 100*total.Rate())
	return total.Rate()
}

// TestDefaultModelFixtures transcribes the recipe's three test WAVs with
// the embedded model: sentences of the test split, never trained on, one
// in a training voice, one in a held-out voice, one with noise and reverb.
//
// The bound guards the model we ship, not the goal: its greedy CER on the
// recipe's whole test split is 17.9% (docs/RESULTS.md), 24.3% over these
// three. A model that transcribes them worse than 30% is a regression (a
// broken embed, a feature or decoding change), and fails here. Decoded
// with Options (the embedded LM and lexicon) they must come out
// better than greedy.
func TestDefaultModelFixtures(t *testing.T) {
	greedy := fixtureCER(t, defaultTranscriber(t))
	if greedy >= 0.30 {
		t.Errorf("greedy CER over the fixtures %.1f%%, want under 30%%", 100*greedy)
	}
	opt, err := Options()
	if err != nil {
		t.Fatal(err)
	}
	if opt.LM == nil {
		t.Skip("no default LM embedded")
	}
	m, _ := Model()
	tr, err := asr.NewTranscriber(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	if withLM := fixtureCER(t, tr); withLM >= greedy {
		t.Errorf("CER with the default LM and lexicon %.1f%%, greedy %.1f%%: want lower", 100*withLM, 100*greedy)
	}
}

// BenchmarkDefaultModel transcribes the three fixtures with the embedded
// model, one file at a time: greedy, with Options (the embedded LM and
// lexicon, what `wav2vec transcribe` does), and with Options trying every
// symbol at every frame.
func BenchmarkDefaultModel(b *testing.B) {
	b.Run("greedy", func(b *testing.B) { benchFixtures(b, defaultTranscriber(b)) })
	b.Run("lm", func(b *testing.B) { benchFixtures(b, defaultDecoder(b)) })
	b.Run("lm-all-symbols", func(b *testing.B) {
		m := defaultTranscriber(b).Model()
		opt, err := Options()
		if err != nil || opt.LM == nil {
			b.Skipf("no default LM embedded (%v)", err)
		}
		opt.TokenThreshold = math.Inf(1) // the search before the token threshold
		tr, err := asr.NewTranscriber(m, opt)
		if err != nil {
			b.Fatal(err)
		}
		benchFixtures(b, tr)
	})
}

func benchFixtures(b *testing.B, tr *asr.Transcriber) {
	var files [][]float32
	seconds := 0.0
	for _, name := range []string{"clear_train_voice", "heldout_voice", "noisy_reverb"} {
		x, err := audio.ReadFile("../../testdata/speech/" + name + ".wav")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Transcribe(x); err != nil { // compile outside the timing
			b.Fatal(err)
		}
		files = append(files, x)
		seconds += float64(len(x)) / audio.SampleRate
	}
	b.ResetTimer()
	for b.Loop() {
		for _, x := range files {
			if _, err := tr.Transcribe(x); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(seconds*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
}

// BenchmarkTranscribeLong streams 1, 10 and 60 minutes of speech (the three
// fixtures and half a second of silence after each, repeated) through the
// embedded model with its default decoding, as `wav2vec transcribe` does,
// and reports the speed and the peak of the memory the Go runtime holds
// from the system (runtime/metrics: all its memory classes less the heap
// pages returned to the system, sampled every 10 ms; RSS follows it
// closely).
func BenchmarkTranscribeLong(b *testing.B) {
	tr := defaultDecoder(b)
	var clip []float32
	for _, name := range []string{"clear_train_voice", "heldout_voice", "noisy_reverb"} {
		x, err := audio.ReadFile("../../testdata/speech/" + name + ".wav")
		if err != nil {
			b.Fatal(err)
		}
		clip = append(append(clip, x...), make([]float32, audio.SampleRate/2)...)
	}
	for _, minutes := range []int{1, 10, 60} {
		b.Run(fmt.Sprintf("%dmin", minutes), func(b *testing.B) {
			n := int64(minutes) * 60 * audio.SampleRate
			var peak uint64
			stop := memtest.SamplePeak(&peak)
			for b.Loop() {
				if _, err := tr.Stream(wavtest.Repeat(clip, n), func(asr.Segment) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			stop()
			b.ReportMetric(float64(n)/audio.SampleRate*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
		})
	}
}

package asr

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
)

func TestDefaultModel(t *testing.T) {
	m, err := DefaultModel()
	if _, serr := fs.Stat(modelFS, defaultModelPath); errors.Is(serr, fs.ErrNotExist) {
		if !errors.Is(err, ErrNoDefaultModel) || m != nil {
			t.Fatalf("without an embedded model: %v, %v", m, err)
		}
		if err.Error() != "asr: no default model is embedded in this build; pass --model" {
			t.Errorf("message %q", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("embedded model: %v", err)
	}
	if m2, _ := DefaultModel(); m2 != m {
		t.Error("DefaultModel loads the model again")
	}
}

// defaultTranscriber returns a greedy Transcriber of the embedded model,
// and skips the test when none is embedded.
func defaultTranscriber(tb testing.TB) *Transcriber {
	tb.Helper()
	m, err := DefaultModel()
	if errors.Is(err, ErrNoDefaultModel) {
		tb.Skip("no default model embedded")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := NewTranscriber(m, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// TestDefaultModelFixtures transcribes the recipe's three test WAVs with
// the embedded model: sentences of the test split, never trained on, one
// in a training voice, one in a held-out voice, one with noise and reverb.
//
// The bound guards the model we ship, not the goal: its CER on the
// recipe's whole test split is 19.0% (docs/RESULTS.md), 26.2% over these
// three, and the goal of under 10% is not reached yet. A model that
// transcribes them worse than 30% is a regression (a broken embed, a
// feature or decoding change), and fails here.
func TestDefaultModelFixtures(t *testing.T) {
	tr := defaultTranscriber(t)
	refs, err := os.ReadFile("../testdata/speech/transcripts.txt")
	if err != nil {
		t.Fatal(err)
	}
	var total ErrorCounts
	for _, line := range strings.Split(strings.TrimSpace(string(refs)), "\n") {
		name, ref, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("transcripts.txt: bad line %q", line)
		}
		x, err := audio.ReadFile("../testdata/speech/" + name + ".wav")
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Transcribe(x)
		if err != nil {
			t.Fatal(err)
		}
		c := CharErrors(ref, res.Text)
		t.Logf("%s: %q (CER %.1f%%)", name, res.Text, 100*c.Rate())
		total.Add(c)
	}
	t.Logf("CER over the fixtures %.1f%%", 100*total.Rate())
	if r := total.Rate(); r >= 0.30 {
		t.Errorf("CER over the fixtures %.1f%%, want under 30%%", 100*r)
	}
}

// BenchmarkDefaultModel transcribes the three fixtures with the embedded
// model, greedy, one file at a time: the speed `wav2vec transcribe` gives.
func BenchmarkDefaultModel(b *testing.B) {
	tr := defaultTranscriber(b)
	var files [][]float32
	seconds := 0.0
	for _, name := range []string{"clear_train_voice", "heldout_voice", "noisy_reverb"} {
		x, err := audio.ReadFile("../testdata/speech/" + name + ".wav")
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

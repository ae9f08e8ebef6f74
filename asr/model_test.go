package asr

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
)

func testRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// newToyModel returns a randomly initialised toy model.
func newToyModel(t testing.TB, init string) *Model {
	t.Helper()
	m, err := New(toyConfig(), toyVocab(t), init, testRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewErrors(t *testing.T) {
	noBoundary, err := dataset.NewVocab([]string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	bad := toyConfig()
	bad.ContextKernel = 2
	tests := []struct {
		name  string
		cfg   encoder.Config
		vocab *dataset.Vocab
		init  string
		want  string
	}{
		{"unknown init", toyConfig(), nil, "bogus", `unknown init "bogus"`},
		{"no boundary", toyConfig(), noBoundary, InitScratch, `lacks the word boundary "|"`},
		{"bad encoder", bad, nil, InitScratch, "context_kernel 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.vocab, tt.init, testRNG(1))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "asr: ") {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestModelGeometry(t *testing.T) {
	for _, init := range []string{InitScratch, InitLogMel} {
		t.Run(init, func(t *testing.T) {
			m := newToyModel(t, init)
			if m.Hop() != 160 || m.FrameSeconds() != 0.01 {
				t.Errorf("hop %d, frame %g s; want 160 and 0.01", m.Hop(), m.FrameSeconds())
			}
			if got := m.Frames(m.MinSamples() - 1); got != 0 {
				t.Errorf("Frames(MinSamples-1) = %d", got)
			}
			if got := m.Frames(audio.SampleRate); got < 97 || got > 100 {
				t.Errorf("Frames(1 s) = %d, want about 100", got)
			}
			if m.Config.Init != init || (init == InitLogMel) != (m.Config.Encoder.Input == "logmel") {
				t.Errorf("config %+v for init %s", m.Config, init)
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	for _, init := range []string{InitScratch, InitLogMel} {
		t.Run(init, func(t *testing.T) {
			m := newToyModel(t, init)
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Vocab.Symbols(), m.Vocab.Symbols()) || got.Config.Init != init {
				t.Errorf("loaded vocab %v init %s", got.Vocab.Symbols(), got.Config.Init)
			}
			want := m.Params()
			for i, p := range got.Params() {
				if p.Name != want[i].Name || !slices.Equal(p.Data, want[i].Data) {
					t.Fatalf("param %s differs after the round trip", p.Name)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre.safetensors")
	if err := nn.SaveCheckpoint(pre, []*nn.Param{nn.NewParam("x", 2)}, nil, map[string]string{nn.MetaKind: "pretrain"}); err != nil {
		t.Fatal(err)
	}
	_, err := Load(pre)
	if err == nil || !strings.Contains(err.Error(), "fine-tune it first") {
		t.Errorf("loading a pretraining checkpoint: %v", err)
	}
	_, err = Load(filepath.Join(dir, "missing.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("loading a missing file: %v", err)
	}
	_, err = FromPretrained(pre, nil, testRNG(1))
	if err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("a pretraining checkpoint without config: %v", err)
	}
}

func TestFromPretrained(t *testing.T) {
	cfg := toyConfig()
	enc, err := encoder.New(cfg, testRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{nn.MetaKind: "pretrain"}
	if err := nn.PutMetaJSON(meta, nn.MetaConfig, map[string]any{"encoder": cfg, "quantizer": map[string]int{"groups": 2}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pre.safetensors")
	extra := nn.NewParam("quantizer.codevectors", 3, 4)
	if err := nn.SaveCheckpoint(path, append(slices.Clone(enc.Params()), extra), nil, meta); err != nil {
		t.Fatal(err)
	}
	m, err := FromPretrained(path, toyVocab(t), testRNG(9))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Encoder.Params() {
		if !slices.Equal(p.Data, enc.Params()[i].Data) {
			t.Fatalf("%s not loaded", p.Name)
		}
	}
	if m.Config.Init != InitPretrained {
		t.Errorf("init %q", m.Config.Init)
	}
}

// toySignal is a few seconds of toy speech for inference tests.
func toySignal(seed uint64, words int) []float32 {
	rng := testRNG(seed)
	return toySpeak(rng, toyText(rng, words))
}

func TestTooShort(t *testing.T) {
	for _, init := range []string{InitScratch, InitLogMel} {
		m := newToyModel(t, init)
		tr, err := NewTranscriber(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, m.MinSamples() - 1} {
			_, err := tr.Transcribe(make([]float32, n))
			if !errors.Is(err, ErrTooShortAudio) {
				t.Errorf("%s: %d samples: error %v, want ErrTooShortAudio", init, n, err)
			}
		}
		if _, err := tr.Transcribe(make([]float32, m.MinSamples())); err != nil {
			t.Errorf("%s: MinSamples samples: %v", init, err)
		}
		if _, err := tr.TranscribeBatch([][]float32{make([]float32, 1000), make([]float32, 3)}); !errors.Is(err, ErrTooShortAudio) {
			t.Errorf("%s: batch with a short clip: %v", init, err)
		}
	}
}

func TestNewTranscriberErrors(t *testing.T) {
	m := newToyModel(t, InitScratch)
	tests := []struct {
		opt  Options
		want string
	}{
		{Options{Beam: -1}, "beam"},
		{Options{OverlapSeconds: 0.5}, "overlap of 0.5 s"},
		{Options{WindowSeconds: 1, OverlapSeconds: 2}, "not longer"},
		{Options{WindowSeconds: math.NaN()}, "window"},
		{Options{LMWeight: math.Inf(1)}, "finite"},
	}
	for _, tt := range tests {
		_, err := NewTranscriber(m, tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.opt, err, tt.want)
		}
	}
}

// maxAbsDiff returns the largest difference between a and b.
func maxAbsDiff(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestWindowSeams checks that cutting a long input into overlapping windows
// gives the log-probabilities of the whole-file run, for both inputs.
func TestWindowSeams(t *testing.T) {
	for _, init := range []string{InitScratch, InitLogMel} {
		t.Run(init, func(t *testing.T) {
			m := newToyModel(t, init)
			var x []float32
			for s := range uint64(6) {
				x = append(x, toySignal(s, 4)...) // about 9 s
			}
			x = x[:len(x)-37] // not a whole number of frames
			whole, err := NewTranscriber(m, Options{WindowSeconds: 60})
			if err != nil {
				t.Fatal(err)
			}
			windowed, err := NewTranscriber(m, Options{WindowSeconds: 2.5, OverlapSeconds: 1.1})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(m.input.Windows(len(x), windowed.win, windowed.margin)); n < 5 {
				t.Fatalf("only %d windows", n)
			}
			a, fa, err := whole.LogProbs(x)
			if err != nil {
				t.Fatal(err)
			}
			b, fb, err := windowed.LogProbs(x)
			if err != nil {
				t.Fatal(err)
			}
			if fa != fb || fa != m.Frames(len(x)) {
				t.Fatalf("%d and %d frames, want %d", fa, fb, m.Frames(len(x)))
			}
			if d := maxAbsDiff(t, a, b); d > 1e-4 {
				t.Errorf("windowed log-probs differ from the whole-file ones by %g", d)
			}
			ra, rb := whole.Decode(a, fa, 9), windowed.Decode(b, fb, 9)
			if ra.Text != rb.Text {
				t.Errorf("texts differ:\n%q\n%q", ra.Text, rb.Text)
			}
			// Too small an overlap would change the frames near the seams:
			// the check above can fail.
			m2 := *m
			bad := &Transcriber{m: &m2, opt: windowed.opt, win: windowed.win, margin: 10}
			c, _, err := bad.LogProbs(x)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(t, a, c); d < 1e-3 {
				t.Errorf("a 10-frame margin changes nothing (%g): the seam test is blind", d)
			}
		})
	}
}

// TestPaddingInvariance: inputs transcribed alone and inside a zero-padded
// batch give the same log-probabilities and text.
func TestPaddingInvariance(t *testing.T) {
	for _, init := range []string{InitScratch, InitLogMel} {
		t.Run(init, func(t *testing.T) {
			m := newToyModel(t, init)
			tr, err := NewTranscriber(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			inputs := [][]float32{toySignal(1, 2), toySignal(2, 4), toySignal(3, 1)}
			batch, err := tr.TranscribeBatch(inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range inputs {
				alone, err := tr.Transcribe(x)
				if err != nil {
					t.Fatal(err)
				}
				if alone.Text != batch[i].Text || !slices.Equal(alone.Words, batch[i].Words) {
					t.Errorf("input %d: alone %q, in a batch %q", i, alone.Text, batch[i].Text)
				}
				lpAlone, _, err := tr.LogProbs(x)
				if err != nil {
					t.Fatal(err)
				}
				c := tr.cache()
				lps, err := m.forward(c, [][]float32{m.normalized(inputs[0]), m.normalized(inputs[1]), m.normalized(inputs[2])})
				tr.release(c)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(t, lpAlone, lps[i]); d > 1e-4 {
					t.Errorf("input %d: log-probs alone and padded differ by %g", i, d)
				}
			}
		})
	}
}

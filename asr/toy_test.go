package asr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// The toy language: five letters, each spoken as a steady tone with two
// harmonics for 80 ms, letters 30 ms apart, words 200 ms apart, a little
// noise throughout. A tiny model learns it in a few hundred updates.
var toyLetters = []string{"A", "B", "C", "D", "E"}

var toyFreqs = []float64{260, 410, 650, 1030, 1640} // Hz

const (
	toyLetterSec = 0.08
	toyGapSec    = 0.03
	toyWordSec   = 0.2
	toyEdgeSec   = 0.1
)

// toyVocab is the toy language's vocabulary: blank, "|", A-E.
func toyVocab(t testing.TB) *dataset.Vocab {
	v, err := dataset.NewVocab(append([]string{"|"}, toyLetters...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// toyConfig is a small wave encoder for tests: the real feature encoder's
// convolutions with fewer channels, and a shallower context network that
// still sees about half a second on each side.
func toyConfig() encoder.Config {
	c := encoder.Tiny()
	c.ConvDim = 32
	c.Dim = 64
	c.ContextDilations = []int{1, 2, 4, 8, 16, 1, 2, 4}
	c.Dropout = 0.1
	return c
}

// toyText draws words of 1-3 letters, nWords of them.
func toyText(rng *rand.Rand, nWords int) string {
	words := make([]string, nWords)
	for i := range words {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(toyLetters[rng.IntN(len(toyLetters))])
		}
		words[i] = b.String()
	}
	return strings.Join(words, " ")
}

// toySpeak renders words (letters A-E separated by spaces) at 16 kHz.
func toySpeak(rng *rand.Rand, text string) []float32 {
	var x []float32
	silence := func(sec float64) {
		for range int(sec * audio.SampleRate) {
			x = append(x, 0)
		}
	}
	silence(toyEdgeSec)
	for wi, w := range strings.Fields(text) {
		if wi > 0 {
			silence(toyWordSec)
		}
		for li, c := range w {
			if li > 0 {
				silence(toyGapSec)
			}
			f := toyFreqs[strings.IndexRune("ABCDE", c)] * (1 + 0.03*(rng.Float64()-0.5))
			n := int(toyLetterSec * audio.SampleRate)
			for i := range n {
				tt := float64(i) / audio.SampleRate
				env := math.Sin(math.Pi * float64(i) / float64(n))
				v := math.Sin(2*math.Pi*f*tt) + 0.5*math.Sin(4*math.Pi*f*tt) + 0.25*math.Sin(6*math.Pi*f*tt)
				x = append(x, float32(0.3*env*v))
			}
		}
	}
	silence(toyEdgeSec)
	for i := range x {
		x[i] += float32(0.01 * rng.NormFloat64())
	}
	return x
}

// writeToyCorpus writes n toy utterances of 2-4 words into dir as
// NAME.tsv with NAME.ltr and NAME.wrd beside it, and returns the manifest.
func writeToyCorpus(t testing.TB, dir, name string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	wavs := filepath.Join(dir, name)
	if err := os.MkdirAll(wavs, 0o755); err != nil {
		t.Fatal(err)
	}
	var tsv, ltr, wrd strings.Builder
	fmt.Fprintln(&tsv, wavs)
	for i := range n {
		text := toyText(rng, 2+rng.IntN(3))
		x := toySpeak(rng, text)
		file := fmt.Sprintf("%03d.wav", i)
		if err := audio.WriteFile(filepath.Join(wavs, file), x, audio.SampleRate); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&tsv, "%s\t%d\n", file, len(x))
		fmt.Fprintln(&ltr, dataset.WordsToLetters(text))
		fmt.Fprintln(&wrd, text)
	}
	path := filepath.Join(dir, name+".tsv")
	for ext, s := range map[string]string{"tsv": tsv.String(), "ltr": ltr.String(), "wrd": wrd.String()} {
		if err := os.WriteFile(filepath.Join(dir, name+"."+ext), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

package probe

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/pretrain"
)

func TestFrameTargets(t *testing.T) {
	tests := []struct {
		symbols []int
		T       int
		want    []int
	}{
		{[]int{1, 2, 3}, 3, []int{1, 2, 3}},
		{[]int{1, 2, 3}, 6, []int{1, 1, 2, 2, 3, 3}},
		{[]int{1, 2, 3}, 2, []int{1, 3}},       // (0.5*3/2 = 0.75, 1.5*3/2 = 2.25)
		{[]int{5, 6}, 5, []int{5, 5, 6, 6, 6}}, // 0.2, 0.6, 1.0, 1.4, 1.8
		{[]int{7}, 4, []int{7, 7, 7, 7}},
		{[]int{1, 2, 3, 4}, 1, []int{3}}, // the symbol nearest the middle
		{nil, 5, nil},
		{[]int{1}, 0, nil},
	}
	for _, tt := range tests {
		if got := FrameTargets(tt.symbols, tt.T); !slices.Equal(got, tt.want) {
			t.Errorf("FrameTargets(%v, %d) = %v, want %v", tt.symbols, tt.T, got, tt.want)
		}
	}
}

func TestMajority(t *testing.T) {
	tests := []struct {
		y     []int
		class int
		frac  float64
	}{
		{[]int{3, 1, 3, 2, 3, 1}, 3, 0.5},
		{[]int{4, 2, 2, 4}, 2, 0.5}, // a tie goes to the smaller class
		{[]int{9}, 9, 1},
		{nil, -1, 0},
	}
	for _, tt := range tests {
		class, frac := MajorityClass(&Set{Y: tt.y})
		if class != tt.class || frac != tt.frac {
			t.Errorf("MajorityClass(%v) = %d, %g, want %d, %g", tt.y, class, frac, tt.class, tt.frac)
		}
	}
	// The baseline predicts the training set's majority class on the test
	// set: 3 is right on 1 of the 4 test frames, although 1 is the test
	// set's own majority.
	train := &Set{Dim: 1, X: make([]float32, 6), Y: []int{3, 1, 3, 2, 3, 1}}
	test := &Set{Dim: 1, X: make([]float32, 4), Y: []int{1, 1, 3, 2}}
	if got := ClassAccuracy(test, 3); got != 0.25 {
		t.Errorf("ClassAccuracy = %g, want 0.25", got)
	}
	res, err := Probe(train, test, 4, with(func(c *Config) { c.Epochs = 1 }), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if res.MajorityClass != 3 || res.Majority != 0.25 || res.TrainFrames != 6 || res.TestFrames != 4 {
		t.Errorf("result %+v: want majority class 3 at 0.25 on 6 and 4 frames", res)
	}
}

// clusters returns n frames of K Gaussian clusters in D dimensions with
// the given spread around unit-scale means, offset and scaled per
// dimension (which standardisation must undo), plus one constant
// dimension. With spread 0 the labels are random and the features say
// nothing of them.
func clusters(rng *rand.Rand, n, K, D int, spread float64, means []float64) *Set {
	s := &Set{}
	for range n {
		y := rng.IntN(K)
		x := make([]float32, D+1)
		for d := range D {
			v := rng.NormFloat64()
			if spread > 0 {
				v = means[y*D+d] + spread*v
			}
			x[d] = float32(100 + 50*float64(d+1)*v)
		}
		x[D] = 7 // constant
		s.Dim = D + 1
		s.X = append(s.X, x...)
		s.Y = append(s.Y, y)
	}
	return s
}

func TestTrainProbe(t *testing.T) {
	const K, D = 6, 10
	rng := rand.New(rand.NewPCG(2, 3))
	means := make([]float64, K*D)
	for i := range means {
		means[i] = rng.NormFloat64()
	}
	tests := []struct {
		name     string
		spread   float64
		min, max float64 // test accuracy
	}{
		{"separable", 0.2, 0.97, 1},
		{"overlapping", 1, 0.5, 0.95},
		{"no information", 0, 0, 1.0/K + 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			train := clusters(rng, 3000, K, D, tt.spread, means)
			test := clusters(rng, 1000, K, D, tt.spread, means)
			res, err := Probe(train, test, K+2, DefaultConfig(), rand.New(rand.NewPCG(4, 5)))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("accuracy %.3f (train %.3f), majority %.3f", res.Accuracy, res.TrainAccuracy, res.Majority)
			if res.Accuracy < tt.min || res.Accuracy > tt.max {
				t.Errorf("accuracy %.3f, want in [%.2f, %.2f]", res.Accuracy, tt.min, tt.max)
			}
			// The same seed gives the same probe.
			again, err := Probe(train, test, K+2, DefaultConfig(), rand.New(rand.NewPCG(4, 5)))
			if err != nil || again != res {
				t.Errorf("rerun: %+v, %v; first run %+v", again, err, res)
			}
		})
	}
}

func TestTrainProbeErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	good := &Set{Dim: 2, X: []float32{1, 2, 3, 4}, Y: []int{0, 1}}
	tests := []struct {
		name    string
		s       *Set
		classes int
		cfg     Config
	}{
		{"empty", &Set{}, 3, DefaultConfig()},
		{"class out of range", good, 1, DefaultConfig()},
		{"no classes", good, 0, DefaultConfig()},
		{"negative epochs", good, 2, with(func(c *Config) { c.Epochs = -1 })},
		{"negative lr", good, 2, with(func(c *Config) { c.LR = -1 })},
		{"NaN L2", good, 2, with(func(c *Config) { c.L2 = math.NaN() })},
	}
	for _, tt := range tests {
		if _, err := Train(tt.s, tt.classes, tt.cfg, rng); err == nil || !strings.HasPrefix(err.Error(), "probe: ") {
			t.Errorf("%s: error %v", tt.name, err)
		}
	}
	if _, err := Train(good, 2, DefaultConfig(), nil); err == nil {
		t.Error("nil generator accepted")
	}
	other := &Set{Dim: 3, X: []float32{1, 2, 3}, Y: []int{0}}
	if _, err := Probe(good, other, 2, DefaultConfig(), rng); err == nil {
		t.Error("test features of another dimension accepted")
	}
	if _, err := Probe(good, &Set{Dim: 2}, 2, DefaultConfig(), rng); err == nil {
		t.Error("an empty test set accepted")
	}
	s := &Set{}
	for _, tc := range []struct {
		feats        []float32
		frames, dim  int
		symbols      []int
		wantErr      bool
		wantFrames   int
		wantUttCount int
	}{
		{[]float32{1, 2, 3, 4}, 2, 2, []int{5}, false, 2, 1},
		{[]float32{1, 2, 3}, 1, 3, []int{5}, true, 2, 1}, // another dimension
		{[]float32{1, 2}, 1, 2, nil, true, 2, 1},         // no symbols
		{[]float32{1, 2, 3}, 2, 2, []int{5}, true, 2, 1}, // wrong length
		{[]float32{1, 2}, 1, 2, []int{-1}, true, 2, 1},   // negative class
		{[]float32{1, 2, 3, 4}, 2, 2, []int{6, 7}, false, 4, 2},
	} {
		err := s.Add(tc.feats, tc.frames, tc.dim, tc.symbols)
		if (err != nil) != tc.wantErr || s.Frames() != tc.wantFrames || s.Utterances != tc.wantUttCount || len(s.X) != s.Frames()*s.Dim {
			t.Errorf("Add(%v, %d, %d, %v): error %v, %d frames, %d utterances", tc.feats, tc.frames, tc.dim, tc.symbols, err, s.Frames(), s.Utterances)
		}
	}
	if !slices.Equal(s.Y, []int{5, 5, 6, 7}) {
		t.Errorf("targets %v", s.Y)
	}
}

// toneLetters are the letters of the tone corpus and their frequencies.
var toneLetters = map[string]float64{"A": 300, "B": 550, "C": 800, "D": 1100, "E": 1500, "|": 2000}

// toneSamples is the length of a letter of the tone corpus: 0.2 s, 20
// frames.
const toneSamples = 3200

// writeToneCorpus writes n utterances of 8 "letters", each letter a pure
// tone of its own frequency lasting 0.2 s, as WAV files into dir, with a
// manifest NAME.tsv and its labels NAME.ltr; extra rows are appended to
// both (raw manifest line, .ltr line). The letters are spread evenly over
// the audio, as FrameTargets assumes, so the frame targets are right up
// to a frame at each boundary.
func writeToneCorpus(t *testing.T, dir, name string, n int, seed uint64, extra ...[2]string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 17))
	keys := []string{"A", "B", "C", "D", "E", "|"}
	var m, ltr strings.Builder
	m.WriteString(dir + "\n")
	for i := range n {
		var x []float32
		var syms []string
		for range 8 {
			k := keys[rng.IntN(len(keys))]
			syms = append(syms, k)
			f := toneLetters[k]
			phase := rng.Float64() * 2 * math.Pi
			for j := range toneSamples {
				x = append(x, float32(0.3*math.Sin(phase+2*math.Pi*f*float64(j)/audio.SampleRate)+0.01*rng.NormFloat64()))
			}
		}
		var buf bytes.Buffer
		if err := audio.Encode(&buf, x, audio.SampleRate); err != nil {
			t.Fatal(err)
		}
		file := fmt.Sprintf("%s%03d.wav", name, i)
		if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "%s\t%d\n", file, len(x))
		ltr.WriteString(strings.Join(syms, " ") + "\n")
	}
	for _, e := range extra {
		m.WriteString(e[0] + "\n")
		ltr.WriteString(e[1] + "\n")
	}
	path := filepath.Join(dir, name+".tsv")
	if err := os.WriteFile(path, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dataset.LabelPath(path, "ltr"), []byte(ltr.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProbeTones runs the whole probe on the tone corpus: the feature
// encoder's output z, even with random weights, holds the tone's
// frequency, so a linear probe reads the letter off it almost perfectly,
// far above the majority class.
func TestProbeTones(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToneCorpus(t, dir, "train", 16, 1,
		[2]string{"missing.wav\t16000", "A B"},
		[2]string{"train000.wav\t25600", "A ? B"}) // unknown symbol
	testTSV := writeToneCorpus(t, dir, "test", 8, 2)
	cfg := smallConfig()
	cfg.Encoder.ConvDim = 128
	m, err := pretrain.New(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	var progress int
	opt := Data{
		Layer:    pretrain.LayerZ,
		Skip:     func(path string, err error) { skipped = append(skipped, path+": "+err.Error()) },
		Progress: func(done, total int) { progress = done },
	}
	ctx := context.Background()
	train, err := Load(ctx, m, trainTSV, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], "missing.wav") || !strings.Contains(skipped[1], `"?"`) || !strings.Contains(skipped[1], "train.ltr line 18") {
		t.Errorf("skipped %q: want missing.wav and the unknown symbol at train.ltr line 18", skipped)
	}
	if train.Utterances != 16 || progress != 18 {
		t.Errorf("%d utterances, progress %d: want 16 of 18", train.Utterances, progress)
	}
	T := m.Encoder.Config.Frames(8 * toneSamples)
	if train.Frames() != 16*T || train.Dim != m.Config.Encoder.ConvDim {
		t.Errorf("%d frames of %d, want %d of %d", train.Frames(), train.Dim, 16*T, m.Config.Encoder.ConvDim)
	}
	test, err := Load(ctx, m, testTSV, opt)
	if err != nil {
		t.Fatal(err)
	}
	vocab := dataset.DefaultVocab()
	res, err := Probe(train, test, vocab.Size(), DefaultConfig(), rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("z of a random model: accuracy %.3f (train %.3f), majority %.3f (%q)", res.Accuracy, res.TrainAccuracy, res.Majority, vocab.Symbol(res.MajorityClass))
	if res.Accuracy < 0.9 || res.Accuracy < res.Majority+0.5 {
		t.Errorf("accuracy %.3f, majority %.3f: want at least 0.9 and 0.5 above the majority", res.Accuracy, res.Majority)
	}
	// The majority baseline counts the training majority on the test frames.
	var counts [64]int
	for _, y := range train.Y {
		counts[y]++
	}
	maj := 0
	for c, n := range counts {
		if n > counts[maj] {
			maj = c
		}
	}
	if res.MajorityClass != maj || res.Majority != ClassAccuracy(test, maj) {
		t.Errorf("majority %d at %g, want %d at %g", res.MajorityClass, res.Majority, maj, ClassAccuracy(test, maj))
	}

	// MaxUtts takes the first rows; a cancelled context stops the load.
	opt.MaxUtts = 3
	few, err := Load(ctx, m, testTSV, opt)
	if err != nil || few.Utterances != 3 || few.Frames() != 3*T || !slices.Equal(few.Y, test.Y[:3*T]) {
		t.Errorf("MaxUtts 3: %v, %+v", err, few)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Load(cancelled, m, testTSV, opt); err == nil {
		t.Error("a cancelled context went unnoticed")
	}
	if _, err := Load(ctx, m, filepath.Join(dir, "none.tsv"), opt); err == nil {
		t.Error("a missing manifest went unnoticed")
	}
	if err := os.Remove(dataset.LabelPath(testTSV, "ltr")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, m, testTSV, opt); err == nil || !strings.Contains(err.Error(), "test.ltr") {
		t.Errorf("missing labels: error %v", err)
	}
}

func TestSpeechSpan(t *testing.T) {
	const hop, win = 160, 400
	x := make([]float32, 100*hop)
	for i := 30 * hop; i < 70*hop; i++ {
		x[i] = float32(math.Sin(float64(i) * 0.3))
	}
	for i := range 5 * hop { // noise 50 dB down stays silence
		x[i] = 0.003
	}
	lo, hi := SpeechSpan(x, 98, hop, win)
	// Frame t covers samples [160t, 160t+400): the first to reach the tone
	// is t=28 (window 28*160+400 > 30*160), the last t=69.
	if lo != 28 || hi != 70 {
		t.Errorf("span [%d, %d), want [28, 70)", lo, hi)
	}
	if lo, hi := SpeechSpan(make([]float32, 1000), 4, hop, win); lo != 0 || hi != 4 {
		t.Errorf("silent clip: span [%d, %d), want [0, 4)", lo, hi)
	}
}

func TestAddTargets(t *testing.T) {
	var s Set
	feats := []float32{0, 1, 10, 11, 20, 21} // 3 frames x 2
	if err := s.AddTargets(feats, 3, 2, []int{-1, 4, 2}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.X, []float32{10, 11, 20, 21}) || !slices.Equal(s.Y, []int{4, 2}) || s.Utterances != 1 {
		t.Errorf("set = %+v, want frames 1 and 2 with targets 4 and 2", s)
	}
	if err := s.AddTargets(feats, 3, 2, []int{1, 2}); err == nil {
		t.Error("2 targets for 3 frames: no error")
	}
	if err := s.AddTargets(feats[:3], 1, 3, []int{1}); err == nil {
		t.Error("a frame of dimension 3 into a set of 2: no error")
	}
}

// smallConfig is a small model for the probe tests.
func smallConfig() pretrain.FullConfig {
	c := pretrain.TinyConfig()
	c.Encoder.ConvDim, c.Encoder.Dim, c.Encoder.ContextDilations = 32, 32, []int{1, 2}
	c.Quantizer.Codes, c.Quantizer.Dim = 8, 16
	c.Pretrain.FinalDim, c.Pretrain.Negatives = 16, 5
	return c
}

// with is DefaultConfig changed by set.
func with(set func(c *Config)) Config {
	c := DefaultConfig()
	set(&c)
	return c
}

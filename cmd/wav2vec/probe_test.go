package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/pretrain"
	"github.com/wav2vec-go/wav2vec/published"
)

func TestProbeUsage(t *testing.T) {
	req := []string{"--model", "m", "--train", "t.tsv", "--test", "v.tsv"}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--train", "t.tsv", "--test", "v.tsv"}, exitUsage, "--model is required"},
		{[]string{"--model", "m", "--test", "v.tsv"}, exitUsage, "--train is required"},
		{[]string{"--model", "m", "--train", "t.tsv"}, exitUsage, "--test is required"},
		{append(req, "--layer", "x"), exitUsage, "--layer must be z, c or q"},
		{append(req, "--baseline", "zeros"), exitUsage, "--baseline must be"},
		{append(req, "--max-utts", "-1"), exitUsage, "--max-utts"},
		{append(req, "--epochs", "0"), exitUsage, "--epochs"},
		{append(req, "--lr", "0"), exitUsage, "--lr"},
		{append(req, "extra"), exitUsage, "unexpected argument"},
		{append(req, "--bogus"), exitUsage, "flag provided but not defined"},
		{[]string{"-h"}, exitOK, "-baseline"},
		{req, exitFail, "m"}, // no such checkpoint
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"probe"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errOut, tt.code, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// writeLetterTones writes n WAV files of 6 "letters" into dir, each a
// 0.2 s tone of the letter's own pitch, with a manifest NAME.tsv and
// labels NAME.ltr (extra rows appended: raw manifest line, .ltr line).
func writeLetterTones(t *testing.T, dir, name string, n int, seed uint64, extra ...[2]string) string {
	t.Helper()
	pitch := map[string]float64{"A": 300, "B": 600, "C": 1000, "|": 1600}
	keys := []string{"A", "B", "C", "|"}
	rng := rand.New(rand.NewPCG(seed, 3))
	var m, ltr strings.Builder
	m.WriteString(dir + "\n")
	for i := range n {
		var x []float32
		var syms []string
		for range 6 {
			k := keys[rng.IntN(len(keys))]
			syms = append(syms, k)
			for j := range 3200 {
				x = append(x, float32(0.3*math.Sin(2*math.Pi*pitch[k]*float64(j)/16000)))
			}
		}
		file := fmt.Sprintf("%s%02d.wav", name, i)
		if err := audio.WriteFile(filepath.Join(dir, file), x, 16000); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "%s\t%d\n", file, len(x))
		ltr.WriteString(strings.Join(syms, " ") + "\n")
	}
	for _, e := range extra {
		m.WriteString(e[0] + "\n")
		ltr.WriteString(e[1] + "\n")
	}
	tsv := filepath.Join(dir, name+".tsv")
	if err := os.WriteFile(tsv, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".ltr"), []byte(ltr.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return tsv
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeLetterTones(t, dir, "train", 6, 1)
	testTSV := writeLetterTones(t, dir, "test", 3, 2)
	cfg, err := pretrain.ParseConfig([]byte(quickPretrainConfig))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := pretrain.NewTrainer(cfg, 5) // an untrained model drawn from seed 5
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "m.safetensors")
	if err := tr.Save(ckpt); err != nil {
		t.Fatal(err)
	}
	frames := tr.Model.Encoder.Config.Frames(6 * 3200)
	probe := func(seed string, extra ...string) (int, probeJSON, string) {
		t.Helper()
		args := append([]string{"probe", "--model", ckpt, "--train", trainTSV, "--test", testTSV,
			"--baseline", "random", "--seed", seed, "--json"}, extra...)
		code, out, errOut := runCLI(t, args...)
		var res probeJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Random == nil || strings.Count(out, "\n") != 1 {
			t.Fatalf("stdout is not one JSON object with \"random\": %v\n%s\nstderr:\n%s", err, out, errOut)
		}
		return code, res, errOut
	}

	// With the seed the checkpoint was drawn from, the random model is the
	// checkpoint's own weights: the two accuracies agree exactly.
	code, res, errOut := probe("5")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if res.Model != *res.Random || res.TrainFrames != 6*frames || res.TestFrames != 3*frames || res.Layer != "c" || res.Step != 0 {
		t.Errorf("seed 5: %+v (random %g): want model = random, %d and %d frames, layer c, step 0", res, *res.Random, 6*frames, 3*frames)
	}
	for _, v := range []float64{res.Model, res.Majority} {
		if !(v >= 0 && v <= 1) {
			t.Errorf("accuracy %g out of [0, 1]", v)
		}
	}
	if !strings.Contains(errOut, "random: train.tsv: 6 utterances") || !strings.Contains(errOut, "probe trained") {
		t.Errorf("stderr lacks the progress lines:\n%s", errOut)
	}
	// Another seed draws another random model (and shuffles the probe's
	// frames in another order, the same for both).
	if _, other, _ := probe("6"); other.Model == *other.Random {
		t.Errorf("seed 6: %+v: the random model scored exactly as the checkpoint", other)
	}

	// Layer z, text output, quiet.
	code, out, errOut := runCLI(t, "probe", "--model", ckpt, "--train", trainTSV, "--test", testTSV, "--layer", "z", "--baseline", "random", "--max-utts", "2", "-q")
	if code != exitOK || errOut != "" {
		t.Fatalf("text: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"layer z (dim 16)", fmt.Sprintf("%d training frames, %d test frames", 2*frames, 2*frames), "pretrained (step 0)", "random init", "majority class"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}

	// A bad file is named once and left out; the results come and the
	// exit status is 1.
	badTSV := writeLetterTones(t, dir, "bad", 3, 3, [2]string{"gone.wav\t16000", "A B"}, [2]string{"bad00.wav\t19200", "A % B"})
	code, out, errOut = runCLI(t, "probe", "--model", ckpt, "--train", badTSV, "--test", testTSV, "--baseline", "random", "--json")
	if code != exitFail || strings.Count(errOut, "gone.wav") != 1 || strings.Count(errOut, `"%"`) != 1 || !strings.Contains(errOut, "2 files skipped") {
		t.Errorf("bad files: exit %d, stderr:\n%s", code, errOut)
	}
	var partial probeJSON
	if err := json.Unmarshal([]byte(out), &partial); err != nil || partial.TrainFrames != 3*frames {
		t.Errorf("bad files: %v, %+v: want the results of the 3 good files", err, partial)
	}

	// No labels: the error names the missing file.
	if err := os.Remove(filepath.Join(dir, "test.ltr")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "probe", "--model", ckpt, "--train", trainTSV, "--test", testTSV)
	if code != exitFail || !strings.Contains(errOut, "test.ltr") {
		t.Errorf("missing labels: exit %d\n%s", code, errOut)
	}
}

// TestProbePublished: probe takes a published model, its layers by number,
// and its random-weight baseline; an --align model of another frame rate
// is refused.
func TestProbePublished(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeLetterTones(t, dir, "train", 6, 1)
	testTSV := writeLetterTones(t, dir, "test", 3, 2)
	model := filepath.Join("..", "..", "published", "testdata", "w2v2-base")
	code, out, errOut := runCLI(t, "probe", "--model", model, "--train", trainTSV, "--test", testTSV, "--layer", "1", "--baseline", "random", "--json", "-q")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var res probeJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Random == nil || res.TrainFrames == 0 || res.Layer != "1" {
		t.Fatalf("output %q (%v)", out, err)
	}
	// 20 ms frames: half as many as a 10 ms model's over the same audio.
	pm, err := published.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Hop() != 320 {
		t.Errorf("hop %d", pm.Hop())
	}
	code, _, errOut = runCLI(t, "probe", "--model", model, "--train", trainTSV, "--test", testTSV, "--layer", "7", "-q")
	if code != exitFail || !strings.Contains(errOut, "want z, c or 1 to 2") {
		t.Errorf("layer 7: exit %d\n%s", code, errOut)
	}
}

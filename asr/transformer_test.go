package asr

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
	"github.com/wav2vec-go/wav2vec/train"
)

// publishedModel loads a published fixture as a recogniser.
func publishedModel(t *testing.T, variant string) (*Model, *published.Model) {
	t.Helper()
	pm, err := published.LoadHF(filepath.Join("..", "published", "testdata", variant))
	if err != nil {
		t.Fatal(err)
	}
	m, err := FromPublished(pm)
	if err != nil {
		t.Fatal(err)
	}
	return m, pm
}

// TestFromPublished: a published CTC model's log probabilities are the
// log-softmax of torchaudio's logits, rows reordered blank first, through
// the Transcriber (which normalises the input again: a no-op on these);
// special tokens spell nothing; a toolkit checkpoint of it (Save, Load)
// gives the same; and a padded batch gives each input's own output.
func TestFromPublished(t *testing.T) {
	for _, v := range []string{"w2v2-base-ctc", "w2v2-large-ctc", "hubert-large-ctc"} {
		t.Run(v, func(t *testing.T) {
			m, pm := publishedModel(t, v)
			if got := m.Symbols(); got[0] != "" || got[m.Boundary()] != "|" || slices.Contains(got, "<unk>") || slices.Contains(got, "<s>") {
				t.Errorf("symbols %q", got)
			}
			ref, err := nn.LoadCheckpoint(filepath.Join("..", "published", "testdata", v, "reference.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := NewTranscriber(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := m.Save(filepath.Join(dir, "m.safetensors")); err != nil {
				t.Fatal(err)
			}
			back, err := Load(filepath.Join(dir, "m.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			trBack, err := NewTranscriber(back, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var inputs [][]float32
			for n := range 2 {
				x := ref.Tensors[fmt.Sprintf("input.%d", n)].Data
				inputs = append(inputs, x)
				lp, frames, err := tr.LogProbs(x)
				if err != nil {
					t.Fatal(err)
				}
				logits := ref.Tensors[fmt.Sprintf("logits.%d", n)]
				V := logits.Shape[1]
				if frames != logits.Shape[0] || len(lp) != frames*V {
					t.Fatalf("%d frames x %d, torchaudio %v", frames, len(lp)/max(frames, 1), logits.Shape)
				}
				order := append([]int{pm.Blank}, slices.DeleteFunc(seq(V), func(i int) bool { return i == pm.Blank })...)
				worst := 0.0
				for f := range frames {
					row := logits.Data[f*V : (f+1)*V]
					mx := slices.Max(row)
					var s float64
					for _, z := range row {
						s += math.Exp(float64(z - mx))
					}
					for r, id := range order {
						want := float64(row[id]-mx) - math.Log(s)
						worst = max(worst, math.Abs(float64(lp[f*V+r])-want))
					}
				}
				if worst > 1e-4 {
					t.Errorf("input %d: log probabilities %.3g from torchaudio's", n, worst)
				}
				again, _, err := trBack.LogProbs(x)
				if err != nil || !slices.Equal(again, lp) {
					t.Errorf("input %d: the saved and loaded model differs (%v)", n, err)
				}
			}
			alone := make([]Result, 2)
			for n, x := range inputs {
				if alone[n], err = tr.Transcribe(x); err != nil {
					t.Fatal(err)
				}
			}
			batch, err := tr.TranscribeBatch(inputs)
			if err != nil {
				t.Fatal(err)
			}
			for n := range inputs {
				if batch[n].Text != alone[n].Text {
					t.Errorf("input %d: %q in a batch, %q alone", n, batch[n].Text, alone[n].Text)
				}
			}
		})
	}
	pm, err := published.LoadHF(filepath.Join("..", "published", "testdata", "w2v2-base"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromPublished(pm); err == nil {
		t.Error("a model without a head made a recogniser")
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestEvaluateLowercaseModel: a model that spells in lowercase is scored
// against uppercase labels without counting the case as errors.
func TestEvaluateLowercaseModel(t *testing.T) {
	dir := t.TempDir()
	upper, _ := publishedModel(t, "w2v2-base-ctc")
	tr, err := NewTranscriber(upper, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A manifest of two fixtures whose labels are the model's own
	// transcripts, in uppercase.
	var tsv, wrd, ltr strings.Builder
	speech, _ := filepath.Abs(filepath.Join("..", "testdata", "speech"))
	tsv.WriteString(speech + "\n")
	for _, name := range []string{"clear_train_voice.wav", "heldout_voice.wav"} {
		f, err := os.Open(filepath.Join(speech, name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.TranscribeReader(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		x, err := audio.ReadFile(filepath.Join(speech, name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&tsv, "%s\t%d\n", name, len(x))
		fmt.Fprintln(&wrd, res.Text)
		fmt.Fprintln(&ltr, strings.Join(strings.Split(strings.ReplaceAll(res.Text, " ", "|"), ""), " ")+" |")
	}
	manifest := filepath.Join(dir, "test.tsv")
	for path, text := range map[string]string{manifest: tsv.String(), filepath.Join(dir, "test.wrd"): wrd.String(), filepath.Join(dir, "test.ltr"): ltr.String()} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The same model with its letters in lowercase.
	pm, err := published.LoadHF(filepath.Join("..", "published", "testdata", "w2v2-base-ctc"))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range pm.Vocab {
		if !special(s) {
			pm.Vocab[i] = strings.ToLower(s)
		}
	}
	lower, err := FromPublished(pm)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*Model{"uppercase": upper, "lowercase": lower} {
		tr, err := NewTranscriber(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Evaluate(context.Background(), tr, manifest, 1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Words.Errors() != 0 || res.Chars.Errors() != 0 {
			t.Errorf("%s: %d word and %d character errors against its own transcripts", name, res.Words.Errors(), res.Chars.Errors())
		}
	}
}

// TestFinetunePublishedBody fine-tunes the tiny pretrained-layout body of
// the published fixtures (Hugging Face's Wav2Vec2Model, random weights from
// torchaudio) on the toy language with the transformer recipe (frozen
// feature encoder, the body frozen for the first updates, frame and
// channel masks, layerdrop, activation dropout): a new head over the
// labels' letters, the training loss and the CER fall, the frozen feature
// encoder is unchanged, and the checkpoint loads as a recogniser.
func TestFinetunePublishedBody(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about 12 s")
	}
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 16, 1)
	out := filepath.Join(dir, "run")
	init := filepath.Join("..", "published", "testdata", "w2v2-base")
	cfg := DefaultFinetuneConfig()
	cfg.FinetuneSettings = DefaultSettingsFor(init)
	if cfg.LayerDrop == 0 || cfg.MaskChannelProb == 0 || cfg.FreezeSteps == 0 {
		t.Fatalf("a published init's defaults: %+v", cfg.FinetuneSettings)
	}
	const steps = 400
	cfg.Init, cfg.Train, cfg.Valid, cfg.Out = init, trainTSV, trainTSV, out
	cfg.MaxSteps, cfg.FreezeSteps, cfg.ValidEvery, cfg.LogEvery = steps, 10, steps/4, 10
	cfg.LR, cfg.BatchSeconds, cfg.Seed = 2e-3, 8, 3
	cfg.MaskChannelLength = 4 // of 32 channels
	cfg.MaskProb = 0.05       // letters last 4 frames here
	var features map[string][]float32
	cfg.afterInit = func(m *Model) {
		features = map[string][]float32{}
		for _, p := range m.featureParams() {
			features[p.Name] = slices.Clone(p.Data)
		}
	}
	res, err := Finetune(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := readMetrics(t, out)
	var losses []float64
	for _, r := range rows {
		if l, ok := r["loss"].(float64); ok {
			losses = append(losses, l)
		}
	}
	steps_, cers := validRows(rows)
	t.Logf("training loss every 10 updates: %.3g", losses)
	t.Logf("validation CER by step: %v %.3f", steps_, cers)
	if res.Steps != steps || len(losses) < 4 || len(cers) != 4 {
		t.Fatalf("%d steps, %d loss rows, %d validations", res.Steps, len(losses), len(cers))
	}
	if last := losses[len(losses)-1]; !(last < 0.5*losses[1]) {
		t.Errorf("training loss %.3g at the end, %.3g after the freeze's start: want it halved", last, losses[1])
	}
	if !(cers[len(cers)-1] < cers[0]-0.2) {
		t.Errorf("validation CER went from %.3f to %.3f: want it down by 0.2 at least", cers[0], cers[len(cers)-1])
	}
	m, err := Load(train.LastPath(out))
	if err != nil {
		t.Fatal(err)
	}
	if m.Transformer == nil || m.Config.Init != InitPretrained || !slices.Equal(m.Vocab.Symbols(), dataset.DefaultVocab().Symbols()) {
		t.Fatalf("checkpoint: transformer %v, init %q, vocabulary %q", m.Transformer != nil, m.Config.Init, m.Vocab.Symbols())
	}
	for _, p := range m.featureParams() {
		if !slices.Equal(features[p.Name], p.Data) {
			t.Errorf("the frozen feature encoder's %s changed", p.Name)
		}
	}
	freshForwardMatches(t, train.LastPath(out), filepath.Join(dir, "train", "000.wav"))

	// In Hugging Face's layout and back, the outputs are the same.
	pm, err := m.Published()
	if err != nil {
		t.Fatal(err)
	}
	hf := filepath.Join(dir, "hf")
	if err := published.SaveHF(hf, pm); err != nil {
		t.Fatal(err)
	}
	back, err := published.LoadHF(hf)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := FromPublished(back)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mb.Vocab.Symbols()[1:], m.Vocab.Symbols()[1:]) || mb.Config.NoNormalize != m.Config.NoNormalize {
		t.Errorf("read back: vocabulary %q, no_normalize %v", mb.Vocab.Symbols(), mb.Config.NoNormalize)
	}
	x, err := audio.ReadFile(filepath.Join(dir, "train", "001.wav"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := logProbs(t, m, x), logProbs(t, mb, x)
	worst := 0.0
	for i := range a {
		worst = max(worst, math.Abs(float64(a[i]-b[i])))
	}
	if len(a) != len(b) || worst > 1e-5 {
		t.Errorf("after SaveHF and LoadHF: %d log probabilities, %d before, %.3g apart", len(b), len(a), worst)
	}
}

// logProbs returns the Transcriber's log probabilities of x.
func logProbs(t *testing.T, m *Model, x []float32) []float32 {
	t.Helper()
	tr, err := NewTranscriber(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lp, _, err := tr.LogProbs(slices.Clone(x))
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

// freshForwardMatches checks that what the Transcriber gives for a file
// with the model at path is the log-softmax of a forward pass built here
// from nothing but the checkpoint's tensors and transformer config.
func freshForwardMatches(t *testing.T, path, wav string) {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTranscriber(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := audio.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	lp, frames, err := tr.LogProbs(slices.Clone(x))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := nn.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := encoder.NewTransformer(*m.Config.Transformer, nil)
	if err != nil {
		t.Fatal(err)
	}
	headW, headB := ck.Tensors[headWeight], ck.Tensors[headBias]
	if err := ck.LoadInto(body.Params(), false); err != nil { // a missing tensor would show below
		t.Fatal(err)
	}
	if !m.Config.NoNormalize {
		audio.Normalize(x)
	}
	g := nn.NewGraph()
	in := g.Input("x", 1, 1, len(x))
	w, bias := g.Input("w", headW.Shape...), g.Input("b", headB.Shape...)
	logits := g.Conv1d(body.Forward(g, body.Features(g, in), nil).Out, w, bias, nn.ConvOpts{})
	prog, err := g.Compile(nil, logits)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	prog.Set(in, x)
	prog.Set(w, headW.Data)
	prog.Set(bias, headB.Data)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	z := prog.Value(logits) // [1, V, T]
	V := headB.Shape[0]
	T := len(z) / V
	if T != frames || len(lp) != T*V {
		t.Fatalf("%d frames from the Transcriber, %d from the fresh pass", frames, T)
	}
	worst := 0.0
	for f := range T {
		mx := math.Inf(-1)
		for v := range V {
			mx = max(mx, float64(z[v*T+f]))
		}
		var s float64
		for v := range V {
			s += math.Exp(float64(z[v*T+f]) - mx)
		}
		for v := range V {
			worst = max(worst, math.Abs(float64(lp[f*V+v])-(float64(z[v*T+f])-mx-math.Log(s))))
		}
	}
	if worst > 1e-4 {
		t.Errorf("the Transcriber's log probabilities are %.3g from a fresh forward pass's", worst)
	}
}

// TestInitPublishedLayouts: a fine-tuning run starts from the same body
// whether the fixture comes as a Hugging Face folder or as a fairseq
// pretraining .pt file (wav2vec 2.0 and HuBERT), with a new head over the
// letters of the labels and the pretrained init's freezing; the .pt files,
// which lack a mask embedding, get one drawn from U(0, 1).
func TestInitPublishedLayouts(t *testing.T) {
	dir := t.TempDir()
	trainTSV := writeToyCorpus(t, dir, "train", 2, 1)
	for _, v := range []string{"w2v2-base", "hubert-base"} {
		t.Run(v, func(t *testing.T) {
			var bodies [][]*nn.Param
			for _, init := range []string{filepath.Join("..", "published", "testdata", v), filepath.Join("..", "published", "testdata", v, "fairseq.pt")} {
				cfg := DefaultFinetuneConfig()
				cfg.Init, cfg.Train, cfg.Log = init, trainTSV, quietLog(nil)
				m, err := initModel(cfg, testRNG(1))
				if err != nil {
					t.Fatal(err)
				}
				if m.Transformer == nil || m.Config.Init != InitPretrained || !slices.Equal(m.Vocab.Symbols(), dataset.DefaultVocab().Symbols()) {
					t.Fatalf("%s: transformer %v, init %q, vocabulary %q", init, m.Transformer != nil, m.Config.Init, m.Vocab.Symbols())
				}
				bodies = append(bodies, m.bodyParams())
			}
			hf, fs := bodies[0], bodies[1]
			if len(hf) != len(fs) {
				t.Fatalf("%d tensors from the folder, %d from the .pt", len(hf), len(fs))
			}
			for i, p := range hf {
				if p.Name == "masked_spec_embed" {
					// The .pt fixtures have none: one is drawn from U(0, 1).
					if slices.Equal(fs[i].Data, p.Data) || slices.ContainsFunc(fs[i].Data, func(x float32) bool { return x <= 0 || x >= 1 }) {
						t.Errorf("the .pt's drawn mask embedding %v", fs[i].Data)
					}
					continue
				}
				if fs[i].Name != p.Name || !slices.Equal(fs[i].Data, p.Data) {
					t.Errorf("%s differs between the layouts", p.Name)
				}
			}
		})
	}
}

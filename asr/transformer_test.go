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
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/published"
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

package pretrain

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/dataset"
	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// quickTeacherConfig is quickConfig with data2vec's teacher targets: the
// top 2 of 3 context blocks.
func quickTeacherConfig() FullConfig {
	c := quickConfig()
	c.Encoder.ContextDilations = []int{1, 2, 1}
	c.Pretrain.Targets = TargetsTeacher
	c.Pretrain.AverageTopK = 2
	return c
}

// quickTransformerTeacherConfig is quickTransformerConfig with the
// teacher targets, over both of its layers.
func quickTransformerTeacherConfig() FullConfig {
	c := quickTransformerConfig()
	c.Pretrain.Targets = TargetsTeacher
	return c
}

// quickDecoderConfig is quickTeacherConfig with data2vec 2.0's decoder:
// two blocks of 24 channels (the first changes the width, so only the
// second adds its input), kernel 3, 4 groups.
func quickDecoderConfig() FullConfig {
	c := quickTeacherConfig()
	c.Pretrain.DecoderLayers = 2
	c.Pretrain.DecoderDim = 24
	c.Pretrain.DecoderKernel = 3
	c.Pretrain.DecoderGroups = 4
	return c
}

// TestEMADecay checks the schedule of tau (0.999 ramping to 0.9999 over
// 1000 updates) at its start, middle, end and after it, and the teacher's
// update on known values.
func TestEMADecay(t *testing.T) {
	pc := Tiny()
	pc.EMADecay, pc.EMAEndDecay, pc.EMAAnnealEndStep = 0.999, 0.9999, 1000
	for _, tt := range []struct {
		done int
		want float64
	}{{0, 0.999}, {1, 0.999 + 0.0009/1000}, {500, 0.99945}, {999, 0.9999 - 0.0009/1000}, {1000, 0.9999}, {5000, 0.9999}} {
		if got := emaDecay(pc, tt.done); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("tau after %d updates = %.10f, want %.10f", tt.done, got, tt.want)
		}
	}
	pc.EMAAnnealEndStep = 0
	if got := emaDecay(pc, 0); got != 0.9999 {
		t.Errorf("tau without a ramp = %g, want ema_end_decay 0.9999", got)
	}

	m, err := New(quickTeacherConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := newTeacher(m)
	if err != nil {
		t.Fatal(err)
	}
	student := m.bodyParams()
	for i, p := range tc.params {
		if p.Name != student[i].Name || !slices.Equal(p.Data, student[i].Data) {
			t.Fatalf("new teacher's %s is not the student's %s", p.Name, student[i].Name)
		}
	}
	w, s := tc.params[0].Data, student[0].Data
	w[0], w[1], w[2] = 1, -2, 0.5
	s[0], s[1], s[2] = 3, 2, 0.5
	tc.update(student, 0.9)
	for i, want := range []float32{1.2, -1.6, 0.5} { // 0.9 w + 0.1 s
		if math.Abs(float64(w[i]-want)) > 1e-6 {
			t.Errorf("after update with tau 0.9: teacher[%d] = %g, want %g", i, w[i], want)
		}
	}
	tc.update(student, 1)
	if w[0] != float32(1.2) {
		t.Errorf("tau 1 changed the teacher: %g", w[0])
	}
	tc.update(student, 0)
	if !slices.Equal(w, s) {
		t.Errorf("tau 0 did not copy the student")
	}
}

// TestTeacherTargets compares the targets that a training graph sets with
// a brute-force computation: every layer of the teacher from a separate
// graph, the top K of them instance-normalised per utterance and channel
// in plain float64 loops and averaged; for both context networks, and
// with two masked copies of each utterance.
func TestTeacherTargets(t *testing.T) {
	clones := quickTeacherConfig()
	clones.Pretrain.Clones = 2
	for name, cfg := range map[string]FullConfig{"conv": quickTeacherConfig(), "transformer": quickTransformerTeacherConfig(), "clones": clones} {
		t.Run(name, func(t *testing.T) { testTeacherTargets(t, cfg) })
	}
}

// preparedTeacherGraph returns a trainer for cfg whose teacher is moved
// apart from the student (so that the targets are not the student's own),
// its training graph for B crops of L samples prepared on generated
// babble, and that batch.
func preparedTeacherGraph(t *testing.T, cfg FullConfig, B, L int) (*Trainer, *trainGraph, *dataset.Batch) {
	t.Helper()
	tr, err := NewTrainer(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range tr.Model.teacher.params {
		for i := range p.Data {
			p.Data[i] += float32(0.05 * rng.NormFloat64())
		}
	}
	batch := synthBatch(rng, B, L, 0, 0)
	tg, err := tr.graph(B, L, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Model.prepare(tg, batch.Audio, rand.New(rand.NewPCG(1, 1)), 0); err != nil {
		t.Fatal(err)
	}
	return tr, tg, batch
}

func testTeacherTargets(t *testing.T, cfg FullConfig) {
	const B, L = 3, 8000
	tr, tg, batch := preparedTeacherGraph(t, cfg, B, L)
	m := tr.Model
	T, D, n := tg.T, m.Dim(), cfg.Pretrain.Clones

	// Every layer, from a graph of its own.
	g := nn.NewGraph()
	x := g.Input("x", m.input.Shape(B, L)...)
	var all []*nn.Node
	if tt := m.teacher.tr; tt != nil {
		_, proj := tt.Embed(g, tt.Features(g, x))
		tt.Context(g, proj, nil, encoder.ContextOptions{Layers: &all})
	} else {
		_, proj := m.teacher.enc.Embed(g, m.teacher.enc.Features(g, x))
		m.teacher.enc.ContextLayers(g, proj, nil, &all)
	}
	prog, err := g.Compile(nil, all...)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	rows := make([][]float32, B)
	for b := range B {
		rows[b] = batch.Audio[b*L : (b+1)*L]
	}
	prog.Set(x, m.input.Batch(rows, L))
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	K := min(cfg.Pretrain.AverageTopK, len(all))
	want := make([]float64, B*D*T)
	for _, l := range all[len(all)-K:] {
		v := prog.Value(l)
		for b := range B {
			for d := range D {
				var mean, vr float64
				for tt := range T {
					mean += float64(v[(b*D+d)*T+tt]) / float64(T)
				}
				for tt := range T {
					e := float64(v[(b*D+d)*T+tt]) - mean
					vr += e * e / float64(T)
				}
				for tt := range T {
					want[(b*D+d)*T+tt] += (float64(v[(b*D+d)*T+tt]) - mean) / math.Sqrt(vr+1e-5) / float64(K)
				}
			}
		}
	}
	got := tg.reg.student
	if len(got) != B*n*D*T {
		t.Fatalf("%d target values, want %d", len(got), B*n*D*T)
	}
	var worst float64
	var vary float64
	for b := range B {
		for k := range n {
			for i := range D * T {
				w := want[b*D*T+i]
				worst = max(worst, math.Abs(float64(got[((b*n+k)*D*T)+i])-w))
				vary += w * w
			}
		}
	}
	if worst > 2e-4 || !(vary > 0) {
		t.Errorf("targets differ from the brute-force average of the top %d of %d layers by %g (sum of squares %g)", K, len(all), worst, vary)
	}
	if len(all) < 2 || K == len(all) && cfg.Transformer == nil {
		t.Errorf("%d layers, K %d: the test wants to leave out a layer of the convolutional network", len(all), K)
	}
}

// TestLearnsTeacherTargets trains the quick networks with the teacher
// targets for 120 updates on a small fixture set (4 batches of 4 crops of
// 0.5 s of generated babble, in turn) and wants the regression loss on
// that set (inference mode, fixed masks) to fall below 3/4 of its value
// at the start, with the targets' variance well away from zero.
//
// Measured (seed 3, lr 2e-3): conv 1.08 -> 0.72 after 150 updates,
// transformer 1.22 -> 0.64; about 3 s each on 2 cores.
func TestLearnsTeacherTargets(t *testing.T) {
	for name, cfg := range map[string]FullConfig{"conv": quickTeacherConfig(), "transformer": quickTransformerTeacherConfig(), "decoder": quickDecoderConfig()} {
		t.Run(name, func(t *testing.T) {
			cfg.Encoder.Dropout = 0
			cfg.Pretrain.LR = 2e-3
			tr, err := NewTrainer(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			const B, L, steps = 4, 8000, 120
			rng := rand.New(rand.NewPCG(5, 6))
			var set []*dataset.Batch
			for i := range 4 {
				set = append(set, synthBatch(rng, B, L, 0, i))
			}
			eval := func() (loss, variance float64) {
				tg, err := tr.graph(B, L, false)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range set {
					if err := tr.Model.prepare(tg, b.Audio, rand.New(rand.NewPCG(9, uint64(b.Position))), 0); err != nil {
						t.Fatal(err)
					}
					r, err := tr.Model.run(tg)
					if err != nil {
						t.Fatal(err)
					}
					loss += r.Regression / float64(len(set))
					variance += targetVariance(r.TargetSums) / float64(len(set))
				}
				return loss, variance
			}
			before, _ := eval()
			for i := range steps {
				b := *set[i%len(set)]
				b.Position = i
				st, err := tr.TrainStep(&b)
				if err != nil {
					t.Fatal(err)
				}
				if st.Skipped {
					t.Fatalf("update %d skipped: %s", i+1, st.Reason)
				}
				if want := emaDecay(cfg.Pretrain, i); st.EMADecay != want {
					t.Fatalf("update %d used tau %g, want %g", i+1, st.EMADecay, want)
				}
			}
			after, variance := eval()
			t.Logf("regression loss on the fixture set: %.3f before, %.3f after %d updates; targets' variance %.3f", before, after, steps, variance)
			if !(after < 0.75*before) {
				t.Errorf("regression loss %.3f after %d updates: want below 3/4 of the %.3f before", after, steps, before)
			}
			if !(variance > 0.05) {
				t.Errorf("targets' variance %.4f: collapsed", variance)
			}
		})
	}
}

// TestCollapseGuard runs the teacher targets with a frozen teacher (tau
// 1) whose input projection is zeroed after update 3, so that every frame
// of every layer is the same, and wants the run to stop at update 3 +
// collapse_updates with ErrCollapse and a message that says so, leaving
// checkpoint_last and checkpoint_best at update 3 with the healthy
// teacher.
func TestCollapseGuard(t *testing.T) {
	dir := t.TempDir()
	cfg := quickTeacherConfig()
	cfg.Pretrain.EMADecay, cfg.Pretrain.EMAEndDecay = 1, 1
	cfg.Pretrain.CollapseUpdates = 3
	cfg.Pretrain.ValidEvery = 1
	cfg.Pretrain.SaveMinutes = 1e-9 // checkpoint_last after every update
	var tr *Trainer
	var healthy []float32
	o := Options{Train: writeCorpus(t, dir, 6, 1), Valid: writeCorpus(t, t.TempDir(), 2, 2), Out: filepath.Join(dir, "run"),
		Config: cfg, Seed: 1, MaxSteps: 20, Quiet: true, Log: slog.New(slog.DiscardHandler), trainerHook: func(t *Trainer) { tr = t }}
	o.AfterStep = func(step int) {
		if step == 3 {
			// The projection's output is 0 and each block's convolution
			// gives its bias on every frame: every layer is constant in time.
			enc := tr.Model.teacher.enc
			healthy = slices.Clone(enc.Proj.Weight.Data)
			clear(enc.Proj.Weight.Data)
			clear(enc.Proj.Bias.Data)
			for _, b := range enc.Blocks {
				clear(b.Conv.Weight.Data)
			}
		}
	}
	res, err := Run(context.Background(), o)
	if !errors.Is(err, ErrCollapse) {
		t.Fatalf("run: %v (%+v), want ErrCollapse", err, res)
	}
	for _, want := range []string{"at update 6", "for 3 updates in a row", "step 3 at the latest"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	for _, path := range []string{train.LastPath(o.Out), train.BestPath(o.Out)} {
		c, err := nn.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		var step int
		if err := c.MetaJSON(nn.MetaStep, &step); err != nil {
			t.Fatal(err)
		}
		w := c.Tensors[tensorTeacher+"encoder.proj.weight"].Data
		if step != 3 || !slices.Equal(w, healthy) {
			t.Errorf("%s: step %d, teacher's projection intact %v: want step 3 and the healthy teacher", filepath.Base(path), step, slices.Equal(w, healthy))
		}
	}
}

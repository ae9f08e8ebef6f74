//go:build mpi

package pretrain

import (
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/train"
)

// These tests run under mpirun -np 2 (dist's TestMPIRun starts them); run
// alone they skip.

func TestMain(m *testing.M) { os.Exit(dist.Finish(m.Run())) }

func joinTest(t *testing.T) dist.Comm {
	t.Helper()
	c, err := dist.Init()
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() < 2 {
		t.Skip("not under mpirun")
	}
	return c
}

// sharedDir returns a temporary folder of rank 0's that every rank uses,
// removed after the test once every rank is done with it.
func sharedDir(t *testing.T, c dist.Comm) string {
	t.Helper()
	buf := make([]byte, 4096)
	if c.Rank() == 0 {
		copy(buf, t.TempDir())
	}
	if err := c.Bcast(buf, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Barrier() })
	return strings.TrimRight(string(buf), "\x00")
}

// maxRelDiff returns max |a-b| over the values, divided by max |a|.
func maxRelDiff(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = max(s, math.Abs(float64(a[i])))
	}
	return d / max(s, 1e-30)
}

// TestMPIGradients: the gradient that the ranks sum equals the one a
// single process computes on the whole batch, with dropout, Gumbel noise,
// the diversity loss and the feature penalty, for even and odd splits and
// for a batch of one row (rank 1 then has none).
func TestMPIGradients(t *testing.T) {
	c := joinTest(t)
	withPenalty := quickConfig()
	withPenalty.Pretrain.FeaturePenalty = 10
	withPenalty.Pretrain.ClipNorm = 0
	tf := quickTransformerConfig()
	tf.Pretrain.ClipNorm = 0
	teacherConv, teacherTf := quickTeacherConfig(), quickTransformerTeacherConfig()
	teacherConv.Pretrain.ClipNorm, teacherTf.Pretrain.ClipNorm = 0, 0
	teacherConv.Pretrain.Clones = 2
	for _, tc := range []struct {
		name string
		cfg  FullConfig
		B    int
	}{{"conv/4", withPenalty, 4}, {"conv/3", withPenalty, 3}, {"conv/1", withPenalty, 1}, {"transformer/3", tf, 3},
		{"teacher/3", teacherConv, 3}, {"teacher/1", teacherConv, 1}, {"transformer-teacher/3", teacherTf, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			one, err := NewTrainer(tc.cfg, 5)
			if err != nil {
				t.Fatal(err)
			}
			part, err := NewTrainer(tc.cfg, 5)
			if err != nil {
				t.Fatal(err)
			}
			part.Comm = c
			grads := func(dst *[][]float32) func([]*nn.Param) {
				return func(ps []*nn.Param) {
					for _, p := range ps {
						*dst = append(*dst, slices.Clone(p.Grad))
					}
				}
			}
			var g1, g2 [][]float32
			one.gradHook, part.gradHook = grads(&g1), grads(&g2)
			b := synthBatch(rand.New(rand.NewPCG(3, 4)), tc.B, 8000, 0, 2)
			st1, err := one.TrainStep(b)
			if err != nil {
				t.Fatal(err)
			}
			st2, err := part.TrainStep(b)
			if err != nil {
				t.Fatal(err)
			}
			if st1.Skipped || st2.Skipped {
				t.Fatalf("skipped: %+v %+v", st1, st2)
			}
			if math.Abs(st1.Loss-st2.Loss) > 1e-5*math.Abs(st1.Loss) {
				t.Errorf("loss: one process %.7g, %d ranks %.7g", st1.Loss, c.Size(), st2.Loss)
			}
			if len(g1) == 0 || len(g1) != len(g2) {
				t.Fatalf("%d and %d gradients", len(g1), len(g2))
			}
			worst, zero := 0.0, true
			for i := range g1 {
				worst = max(worst, maxRelDiff(g1[i], g2[i]))
				zero = zero && !slices.ContainsFunc(g1[i], func(v float32) bool { return v != 0 })
			}
			if zero {
				t.Fatal("every gradient is zero")
			}
			if c.Rank() == 0 {
				t.Logf("max |grad difference| / max |grad| = %.2g (loss %.7g vs %.7g)", worst, st1.Loss, st2.Loss)
			}
			if worst > 1e-5 {
				t.Errorf("gradients differ: max relative difference %.3g", worst)
			}
		})
	}
}

// TestMPIMatchesOneProcess: 2 ranks against 1 process, same seed and
// batches: the parameters after a few updates agree to float rounding;
// rank 0 alone writes the metrics, which record the ranks.
func TestMPIMatchesOneProcess(t *testing.T) {
	c := joinTest(t)
	dir := sharedDir(t, c)
	trainTSV := filepath.Join(dir, "train1.tsv")
	if c.Rank() == 0 {
		writeCorpus(t, dir, 12, 1)
	}
	c.Barrier()
	cfg := quickConfig()
	const steps = 6
	opts := func(out string, comm dist.Comm) Options {
		return Options{Train: trainTSV, Out: filepath.Join(dir, out), Config: cfg, Seed: 7, MaxSteps: steps, Quiet: true, Comm: comm}
	}
	if _, err := Run(context.Background(), opts("two", c)); err != nil {
		t.Fatal(err)
	}
	if c.Rank() != 0 {
		return
	}
	if _, err := Run(context.Background(), opts("one", nil)); err != nil {
		t.Fatal(err)
	}
	a, b := readParams(t, train.LastPath(filepath.Join(dir, "one"))), readParams(t, train.LastPath(filepath.Join(dir, "two")))
	worst := 0.0
	for name, va := range a {
		worst = max(worst, maxRelDiff(va, b[name]))
	}
	t.Logf("after %d updates: max |parameter difference| / max |parameter| = %.2g", steps, worst)
	if worst > 1e-4 {
		t.Errorf("2 ranks and 1 process differ: %.3g", worst)
	}
	data, err := os.ReadFile(filepath.Join(dir, "two", train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"ranks":2`) {
		t.Errorf("metrics of the 2-rank run do not record the ranks:\n%s", data)
	}
}

// TestMPIResume: a 2-rank run stopped halfway (as a signal on one rank
// would: the ranks agree on the step) and resumed on 2 ranks ends
// bit-identical to a straight 2-rank run; resumed on 1 process it agrees
// to float rounding.
func TestMPIResume(t *testing.T) {
	c := joinTest(t)
	dir := sharedDir(t, c)
	trainTSV := filepath.Join(dir, "train1.tsv")
	if c.Rank() == 0 {
		writeCorpus(t, dir, 12, 1)
	}
	c.Barrier()
	cfg := quickConfig()
	const steps = 6
	opts := func(out string, comm dist.Comm) Options {
		return Options{Train: trainTSV, Out: filepath.Join(dir, out), Config: cfg, Seed: 7, MaxSteps: steps, Quiet: true, Comm: comm}
	}
	if _, err := Run(context.Background(), opts("straight", c)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := opts("split", c)
	o.AfterStep = func(step int) {
		if step == steps/2 && c.Rank() == 1 { // only rank 1 sees the signal
			cancel()
		}
	}
	res, err := Run(ctx, o)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Steps != steps/2 {
		t.Fatalf("rank %d: interrupted run: %+v, want interrupted after step %d", c.Rank(), res, steps/2)
	}
	if c.Rank() == 0 {
		if err := copyDir(filepath.Join(dir, "split"), filepath.Join(dir, "split1")); err != nil {
			t.Fatal(err)
		}
	}
	c.Barrier()
	o = opts("split", c)
	o.Resume, o.Config = true, FullConfig{}
	if res, err = Run(context.Background(), o); err != nil || res.Steps != steps {
		t.Fatalf("resumed on 2 ranks: %+v, %v", res, err)
	}
	if c.Rank() != 0 {
		return
	}
	o = opts("split1", nil)
	o.Resume, o.Config = true, FullConfig{}
	if res, err = Run(context.Background(), o); err != nil || res.Steps != steps {
		t.Fatalf("resumed on 1 process: %+v, %v", res, err)
	}
	a := readParams(t, train.LastPath(filepath.Join(dir, "straight")))
	b := readParams(t, train.LastPath(filepath.Join(dir, "split")))
	b1 := readParams(t, train.LastPath(filepath.Join(dir, "split1")))
	worst := 0.0
	for name, va := range a {
		if !equalF32(va, b[name]) {
			t.Errorf("tensor %s differs after stop and resume on 2 ranks", name)
		}
		worst = max(worst, maxRelDiff(va, b1[name]))
	}
	t.Logf("resumed on 1 process: max relative parameter difference %.2g", worst)
	if worst > 1e-4 {
		t.Errorf("resumed on 1 process: %.3g", worst)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// copyDir copies the files of src into a new folder dst.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// timedComm counts the time spent in the gradient allreduce.
type timedComm struct {
	dist.Comm
	spent time.Duration
	calls int
}

func (c *timedComm) AllreduceSum(buf []float32) error {
	start := time.Now()
	err := c.Comm.AllreduceSum(buf)
	c.spent += time.Since(start)
	c.calls++
	return err
}

// BenchmarkMPIPretrainStep times updates of the tiny config on batches of
// 8 crops of 2 s: on one process when run alone (set the threads with
// -cpu), split over the ranks under mpirun. It reports the audio seconds
// trained per second by the whole job; under mpirun also the time per
// update spent in the gradient allreduce, waiting for the slower rank
// included ("allreduce-ms"), the time of the allreduce alone, measured
// after a barrier ("allreduce-only-ms"), and the megabytes each rank
// contributes per update.
//
//	go test -tags mpi -run '^$' -bench MPIPretrainStep -cpu 2 ./pretrain
//	mpirun --oversubscribe -np 2 pretrain.test -test.run '^$' -test.bench MPIPretrainStep -test.cpu 1 -test.benchtime 10x
func BenchmarkMPIPretrainStep(b *testing.B) {
	c, err := dist.Init()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrainer(TinyConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	tc := &timedComm{Comm: c}
	if c.Size() > 1 {
		tr.Comm = tc
	}
	const B, L = 8, 32000
	batch := synthBatch(rand.New(rand.NewPCG(1, 2)), B, L, 0, 0)
	if _, err := tr.TrainStep(batch); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	// Every rank must run the same number of updates: a fixed count.
	if bt := flag.Lookup("test.benchtime"); c.Size() > 1 && !strings.HasSuffix(bt.Value.String(), "x") {
		b.Fatal("under mpirun, give -test.benchtime Nx (a count), so that every rank runs the same updates")
	}
	tc.spent, tc.calls = 0, 0
	for b.Loop() {
		batch.Position++
		if _, err := tr.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(B*L)/16000/sec, "audio-s/s")
	if c.Size() == 1 {
		return
	}
	b.ReportMetric(tc.spent.Seconds()*1e3/float64(max(tc.calls, 1)), "allreduce-ms")
	buf := make([]float32, len(tr.gradBuf))
	c.Barrier()
	start := time.Now()
	const reps = 10
	for range reps {
		c.AllreduceSum(buf)
	}
	b.ReportMetric(time.Since(start).Seconds()*1e3/reps, "allreduce-only-ms")
	b.ReportMetric(float64(4*len(buf))/1e6, "MB/update")
}

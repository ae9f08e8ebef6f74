package dataset

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/audio"
)

// corpus writes n WAVs of growing, uneven lengths and returns their manifest
// and labels (the file index spelled as letters).
func corpus(t *testing.T, n int) (*Manifest, [][]int) {
	t.Helper()
	dir := t.TempDir()
	m := &Manifest{Root: dir, Name: filepath.Join(dir, "train.tsv")}
	var labels [][]int
	for i := range n {
		samples := 700 + (i*2311)%5000
		name := fmt.Sprintf("s%02d/u%02d.wav", i%3, i)
		writeWAV(t, filepath.Join(dir, name), samples, 16000)
		m.Entries = append(m.Entries, Entry{name, int64(samples)})
		labels = append(labels, []int{3 + i%26, 1})
	}
	return m, labels
}

func collect(t *testing.T, ch <-chan *Batch) []*Batch {
	t.Helper()
	var out []*Batch
	timeout := time.After(30 * time.Second)
	for {
		select {
		case b, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, b)
		case <-timeout:
			t.Fatal("stream did not finish")
		}
	}
}

func TestPlan(t *testing.T) {
	m, _ := corpus(t, 14)
	for _, mode := range []Mode{Pretrain, Finetune} {
		cfg := LoaderConfig{Mode: mode, MaxBatchSeconds: 0.5, MaxSamples: 3000, Shuffle: true, Seed: 7, Warn: func(string, error) {}}
		if mode == Finetune {
			cfg.MaxSamples = 0
		}
		l, err := NewLoader(m, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		first := l.Plan(0)
		if !slicesEqual2(first, l.Plan(0)) {
			t.Fatalf("mode %d: two plans of epoch 0 differ", mode)
		}
		differs := false
		for epoch := range 4 {
			plan := l.Plan(epoch)
			differs = differs || !slicesEqual2(plan, first)
			var seen []int
			for _, b := range plan {
				var longest int64
				for _, i := range b {
					longest = max(longest, l.cost(i))
				}
				if len(b) > 1 && int64(len(b))*longest > 8000 {
					t.Errorf("mode %d epoch %d: batch %v holds %d x %d samples, over the 8000 budget", mode, epoch, b, len(b), longest)
				}
				seen = append(seen, b...)
			}
			slices.Sort(seen)
			if want := l.usable; !slices.Equal(seen, want) {
				t.Fatalf("mode %d epoch %d: plan covers %v, want %v", mode, epoch, seen, want)
			}
		}
		if !differs {
			t.Errorf("mode %d: epochs 1-3 have the same order as epoch 0", mode)
		}
	}
	// Without Shuffle the batches follow the manifest.
	l, _ := NewLoader(m, nil, LoaderConfig{Mode: Finetune, MaxBatchSeconds: 0.5})
	var flat []int
	for _, b := range l.Plan(3) {
		flat = append(flat, b...)
	}
	if !slices.Equal(flat, l.usable) {
		t.Errorf("unshuffled plan order %v, want %v", flat, l.usable)
	}
}

func slicesEqual2(a, b [][]int) bool {
	return slices.EqualFunc(a, b, func(x, y []int) bool { return slices.Equal(x, y) })
}

func TestPretrainBatches(t *testing.T) {
	m, _ := corpus(t, 14)
	cfg := LoaderConfig{Mode: Pretrain, MaxBatchSeconds: 0.5, MaxSamples: 3000, Shuffle: true, Seed: 3}
	l, err := NewLoader(m, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batches := collect(t, l.Stream(context.Background(), 2, 0))
	plan := l.Plan(2)
	if len(batches) != len(plan) {
		t.Fatalf("%d batches, plan has %d", len(batches), len(plan))
	}
	multi, cropped := false, false
	for p, b := range batches {
		multi = multi || b.B > 1
		for _, i := range b.Indices {
			cropped = cropped || int(m.Entries[i].Samples) > b.T
		}
		if b.Position != p || b.Epoch != 2 || !slices.Equal(b.Indices, plan[p]) || b.Labels != nil {
			t.Fatalf("batch %d: position %d epoch %d rows %v labels %v; plan rows %v", p, b.Position, b.Epoch, b.Indices, b.Labels, plan[p])
		}
		wantT := 3000
		for _, i := range b.Indices {
			wantT = min(wantT, int(m.Entries[i].Samples))
		}
		if b.T != wantT || len(b.Audio) != b.B*b.T || b.B != len(b.Indices) {
			t.Fatalf("batch %d: B=%d T=%d len=%d, want T=%d", p, b.B, b.T, len(b.Audio), wantT)
		}
		for r, i := range b.Indices {
			if b.Lengths[r] != b.T || slices.Contains(b.Padding[r*b.T:(r+1)*b.T], true) {
				t.Fatalf("batch %d row %d: length %d or padding in a crop", p, r, b.Lengths[r])
			}
			u, err := l.Load(i)
			if err != nil {
				t.Fatal(err)
			}
			row := b.Audio[r*b.T : (r+1)*b.T]
			found := false
			for off := 0; off+b.T <= len(u.Samples) && !found; off++ {
				found = slices.Equal(u.Samples[off:off+b.T], row)
			}
			if !found {
				t.Fatalf("batch %d row %d is not a crop of row %d's normalised audio", p, r, i)
			}
		}
	}
	if !multi || !cropped {
		t.Fatalf("the corpus gave no batch of several rows (%v) or no crop (%v): the test checks nothing", multi, cropped)
	}
	// Same seed and epoch, same batches; resuming at a position gives the tail.
	again := collect(t, l.Stream(context.Background(), 2, 0))
	tail := collect(t, l.Stream(context.Background(), 2, 3))
	for p := range batches {
		if !slices.Equal(batches[p].Audio, again[p].Audio) {
			t.Fatalf("batch %d differs between two runs", p)
		}
		if p >= 3 && !slices.Equal(batches[p].Audio, tail[p-3].Audio) {
			t.Fatalf("batch %d differs when resumed at position 3", p)
		}
	}
	if len(tail) != len(batches)-3 {
		t.Fatalf("resumed stream has %d batches, want %d", len(tail), len(batches)-3)
	}
}

func TestFinetuneBatches(t *testing.T) {
	m, labels := corpus(t, 10)
	l, err := NewLoader(m, labels, LoaderConfig{Mode: Finetune, MaxBatchSeconds: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, b := range collect(t, l.Stream(context.Background(), 0, 0)) {
		wantT := 0
		for _, i := range b.Indices {
			wantT = max(wantT, int(m.Entries[i].Samples))
		}
		if b.T != wantT {
			t.Fatalf("T = %d, want the longest row %d", b.T, wantT)
		}
		for r, i := range b.Indices {
			rows++
			u, _ := l.Load(i)
			n := len(u.Samples)
			row, pad := b.Audio[r*b.T:(r+1)*b.T], b.Padding[r*b.T:(r+1)*b.T]
			if b.Lengths[r] != n || !slices.Equal(row[:n], u.Samples) || !slices.Equal(b.Labels[r], labels[i]) {
				t.Fatalf("row %d (manifest %d): length %d of %d, audio or label differs", r, i, b.Lengths[r], n)
			}
			for k := range row {
				if pad[k] != (k >= n) || (k >= n && row[k] != 0) {
					t.Fatalf("row %d sample %d: padding %v, value %g (length %d)", r, k, pad[k], row[k], n)
				}
			}
		}
	}
	if rows != len(m.Entries) {
		t.Errorf("%d rows streamed, want %d", rows, len(m.Entries))
	}
}

func TestLoaderSkipsBadFiles(t *testing.T) {
	m, labels := corpus(t, 6)
	os.WriteFile(filepath.Join(m.Root, "corrupt.wav"), []byte("RIFF....WAVEjunk"), 0o644)
	writeWAV(t, filepath.Join(m.Root, "short.wav"), 300, 16000)
	m.Entries = append(m.Entries,
		Entry{"missing.wav", 2000},
		Entry{"corrupt.wav", 2000},
		Entry{"short.wav", 2000}, // the manifest is wrong: 300 samples on disk
		Entry{"tiny.wav", 100},   // missing too, and too short by the manifest
	)
	labels = append(labels, []int{3}, []int{4}, []int{5}, []int{6})
	var mu sync.Mutex
	warned := map[string]int{}
	warn := func(path string, err error) {
		mu.Lock()
		defer mu.Unlock()
		warned[filepath.Base(path)]++
		if !strings.HasPrefix(err.Error(), "dataset: ") {
			t.Errorf("warning %q lacks the package prefix", err)
		}
	}
	l, err := NewLoader(m, labels, LoaderConfig{Mode: Finetune, MaxBatchSeconds: 0.3, Shuffle: true, Warn: warn,
		Mismatch: func(*CountError) {}})
	if err != nil {
		t.Fatal(err)
	}
	for epoch := range 2 {
		var got []int
		for _, b := range collect(t, l.Stream(context.Background(), epoch, 0)) {
			got = append(got, b.Indices...)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
			t.Fatalf("epoch %d streamed rows %v, want the six good ones", epoch, got)
		}
	}
	want := map[string]int{"missing.wav": 1, "corrupt.wav": 1, "short.wav": 1, "tiny.wav": 1}
	if fmt.Sprint(warned) != fmt.Sprint(want) {
		t.Errorf("warnings %v, want one per bad file %v", warned, want)
	}
	if got := l.Skipped(); !slices.Equal(got, []int{6, 7, 8, 9}) {
		t.Errorf("Skipped() = %v, want the four bad rows 6-9", got)
	}
}

// TestLoaderChecksCounts: the sample counts of a manifest are checked
// against the files' headers when a Loader opens it. A wrong count is
// reported (naming the manifest, the line, the file and both counts) and
// the file's count is used: a count of 10 does not skip a good file, and a
// count ten times too large does not put a file in a batch of long ones.
// Counts are frames at the file's own rate.
func TestLoaderChecksCounts(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Root: dir, Name: "train.tsv"}
	for i, n := range []int{1600, 1700, 1800, 1900} {
		name := fmt.Sprintf("a/u%d.wav", i)
		writeWAV(t, filepath.Join(dir, name), n, 16000)
		m.Entries = append(m.Entries, Entry{name, int64(n)})
	}
	writeWAV(t, filepath.Join(dir, "tiny.wav"), 10, 16000) // really too short
	writeWAV(t, filepath.Join(dir, "slow.wav"), 800, 8000) // 0.1 s at 8 kHz
	m.Entries[1].Samples = 10                              // a/u1.wav: too short by the manifest only
	m.Entries[2].Samples = 18000                           // a/u2.wav: ten times too large
	m.Entries = append(m.Entries, Entry{"missing.wav", 1600}, Entry{"tiny.wav", 10}, Entry{"slow.wav", 800})
	var mu sync.Mutex
	var skips []string
	var mismatches []*CountError
	cfg := LoaderConfig{Mode: Finetune, MaxBatchSeconds: 0.25, Shuffle: true, Seed: 1,
		Warn: func(path string, err error) {
			mu.Lock()
			defer mu.Unlock()
			skips = append(skips, filepath.Base(path))
		},
		Mismatch: func(err *CountError) {
			mu.Lock()
			defer mu.Unlock()
			mismatches = append(mismatches, err)
		},
	}
	l, err := NewLoader(m, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(skips)
	if want := []string{"missing.wav", "tiny.wav"}; !slices.Equal(skips, want) {
		t.Errorf("skipped %v, want %v", skips, want)
	}
	if got := l.Skipped(); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("Skipped() = %v, want rows 4 and 5", got)
	}
	var msgs []string
	for _, e := range mismatches {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"dataset: train.tsv line 3: a/u1.wav: manifest says 10 samples, the file has 1700",
		"dataset: train.tsv line 4: a/u2.wav: manifest says 18000 samples, the file has 1800",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("mismatch warnings\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if got, want := l.usable, []int{0, 1, 2, 3, 6}; !slices.Equal(got, want) {
		t.Errorf("usable rows %v, want %v", got, want)
	}
	if got := l.cost(2); got != 1800 {
		t.Errorf("row 2 costs %d samples in a batch, want the file's 1800", got)
	}
	// 4000 samples a batch: the four 0.1 s files go two by two, which the
	// manifest's 18000 for a/u2.wav would have prevented.
	for _, b := range l.Plan(0) {
		if slices.Contains(b, 2) && len(b) != 2 {
			t.Errorf("a/u2.wav is batched as %v, want with one other file", b)
		}
	}
	var got []int
	for _, b := range collect(t, l.Stream(context.Background(), 0, 0)) {
		got = append(got, b.Indices...)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{0, 1, 2, 3, 6}) {
		t.Errorf("streamed rows %v, want 0-3 and 6", got)
	}
	if len(skips) != 2 {
		t.Errorf("reading the files skipped more: %v", skips)
	}
}

// TestLoaderSkipCounts: Skip reports a row once and counts it once, and
// rows restored with MarkSkipped are counted without being reported.
func TestLoaderSkipCounts(t *testing.T) {
	m, _ := corpus(t, 5)
	var warned []string
	l, err := NewLoader(m, nil, LoaderConfig{Warn: func(path string, err error) { warned = append(warned, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	l.MarkSkipped([]int{3, 99, -1})
	l.Skip(1, errors.New("label too long"))
	l.Skip(1, errors.New("label too long"))
	l.Skip(3, errors.New("again"))
	if got := l.Skipped(); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("Skipped() = %v, want [1 3]", got)
	}
	if len(warned) != 1 || warned[0] != "label too long" {
		t.Errorf("warnings %q, want one about row 1", warned)
	}
}

func TestStreamCancel(t *testing.T) {
	m, _ := corpus(t, 12)
	l, _ := NewLoader(m, nil, LoaderConfig{Mode: Pretrain, MaxBatchSeconds: 0.1, Prefetch: 1})
	ctx, cancel := context.WithCancel(context.Background())
	ch := l.Stream(ctx, 0, 0)
	if _, ok := <-ch; !ok {
		t.Fatal("no first batch")
	}
	cancel()
	n := len(collect(t, ch)) // must close, after at most the batches already made
	if n > 2 {
		t.Errorf("%d batches after cancel, want at most 2 (prefetch 1 plus one in flight)", n)
	}
}

func TestNewLoaderErrors(t *testing.T) {
	m, labels := corpus(t, 2)
	if _, err := NewLoader(m, labels[:1], LoaderConfig{}); err == nil || !strings.Contains(err.Error(), "1 labels for manifest") {
		t.Errorf("label count mismatch: %v", err)
	}
	err := (LoaderConfig{MaxBatchSeconds: -1, MinSamples: -2, Mode: 9}).Validate()
	for _, want := range []string{"mode 9", "MaxBatchSeconds -1", "MinSamples -2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
	l, _ := NewLoader(m, labels, LoaderConfig{})
	if _, err := l.Load(5); err == nil {
		t.Error("Load(5) of a 2-row manifest succeeded")
	}
}

// TestLoaderNoNormalize: Load gives the file's samples as they are with
// NoNormalize, and normalised (zero mean, unit variance) without it.
func TestLoaderNoNormalize(t *testing.T) {
	m, labels := corpus(t, 2)
	raw, err := audio.ReadFile(m.FullPath(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		l, err := NewLoader(m, labels, LoaderConfig{Mode: Finetune, NoNormalize: keep})
		if err != nil {
			t.Fatal(err)
		}
		u, err := l.Load(1)
		if err != nil {
			t.Fatal(err)
		}
		var mean, sq float64
		for _, x := range u.Samples {
			mean += float64(x) / float64(len(u.Samples))
			sq += float64(x) * float64(x) / float64(len(u.Samples))
		}
		normalised := math.Abs(mean) < 1e-4 && math.Abs(sq-mean*mean-1) < 1e-3
		if slices.Equal(u.Samples, raw) != keep || normalised == keep {
			t.Errorf("NoNormalize %v: the file's samples %v, normalised %v (mean %g, mean square %g)", keep, slices.Equal(u.Samples, raw), normalised, mean, sq)
		}
	}
}

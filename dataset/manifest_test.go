package dataset

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/audio"
)

// writeWAV writes n samples of a quiet ramp-modulated tone at rate.
func writeWAV(t testing.TB, path string, n, rate int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(float64(i)*0.05) * float64(i%97) / 97)
	}
	if err := audio.WriteFile(path, x, rate); err != nil {
		t.Fatal(err)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := &Manifest{Root: "/data/corpus", Entries: []Entry{{"a/b.wav", 16000}, {"c.wav", 0}, {"d e/f.wav", 123456789}}}
	path := filepath.Join(t.TempDir(), "train.tsv")
	if err := WriteManifestFile(path, m); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := "/data/corpus\na/b.wav\t16000\nc.wav\t0\nd e/f.wav\t123456789\n"
	if string(data) != want {
		t.Fatalf("file = %q, want %q", data, want)
	}
	got, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Root != m.Root || !slices.Equal(got.Entries, m.Entries) || got.Name != path {
		t.Fatalf("read back %+v, want %+v", got, m)
	}
	if got.FullPath(0) != filepath.FromSlash("/data/corpus/a/b.wav") {
		t.Errorf("FullPath(0) = %q", got.FullPath(0))
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("folder holds %d entries after an atomic write, want 1", len(ents))
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "x.tsv is empty"},
		{"blank root", "\na.wav\t3\n", "x.tsv line 1"},
		{"row as root", "a.wav\t3\n", "x.tsv line 1"},
		{"no tab", "/r\na.wav\t3\nb.wav 16000\n", "x.tsv line 3: want \"relative/path.wav<TAB>num_samples\""},
		{"not a number", "/r\na.wav\tlots\n", "x.tsv line 2: sample count \"lots\""},
		{"negative", "/r\na.wav\t-5\n", "x.tsv line 2: sample count \"-5\""},
		{"extra column", "/r\na.wav\t5\t7\n", "x.tsv line 2: want"},
		{"no path", "/r\n\t5\n", "x.tsv line 2: want"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(strings.NewReader(tc.in), "x.tsv")
			if err == nil || m != nil {
				t.Fatalf("ParseManifest = %v, %v; want only an error", m, err)
			}
			if !strings.HasPrefix(err.Error(), "dataset: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
	// A CRLF file and a missing final newline are fine.
	m, err := ParseManifest(strings.NewReader("/r\r\na.wav\t3\r\nb.wav\t4"), "x.tsv")
	if err != nil || m.Root != "/r" || len(m.Entries) != 2 || m.Entries[1].Samples != 4 {
		t.Fatalf("CRLF manifest: %+v, %v", m, err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("/r\na.wav\t3\n")
	f.Add("/r\na.wav\t3\t4\n\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseManifest(strings.NewReader(in), "f.tsv")
		if (m == nil) == (err == nil) {
			t.Fatalf("got manifest %v and error %v together", m, err)
		}
		if m == nil {
			return
		}
		var buf bytes.Buffer
		if err := m.Write(&buf); err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(&buf, "f.tsv")
		if err != nil || !slices.Equal(m2.Entries, m.Entries) {
			t.Fatalf("round trip: %v, %v vs %v", err, m2, m)
		}
	})
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "a.wav"), 1600, 16000)
	writeWAV(t, filepath.Join(dir, "sub/b.wav"), 800, 8000)
	os.WriteFile(filepath.Join(dir, "bad.wav"), []byte("not a wav file at all"), 0o644)
	good := &Manifest{Root: dir, Name: "good.tsv", Entries: []Entry{{"a.wav", 1600}, {"sub/b.wav", 800}}}
	if err := good.Verify(); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	bad := &Manifest{Root: dir, Name: "bad.tsv", Entries: []Entry{
		{"a.wav", 1600}, {"missing.wav", 10}, {"sub/b.wav", 1600}, {"bad.wav", 3},
	}}
	err := bad.Verify()
	if err == nil {
		t.Fatal("Verify() = nil for a manifest with three bad rows")
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.tsv line 3: missing.wav: file does not exist",
		"bad.tsv line 4: sub/b.wav: manifest says 1600 samples, the file has 800",
		"bad.tsv line 5: bad.wav",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Verify() = %q, want it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "line 2") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Verify() = %q: want no complaint about line 2 and an ErrNotExist inside", msg)
	}
	var ce *CountError
	if !errors.As(err, &ce) || *ce != (CountError{Manifest: "bad.tsv", Line: 4, Path: "sub/b.wav", Listed: 1600, Actual: 800}) {
		t.Errorf("Verify(): CountError %+v, want line 4's counts", ce)
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	files := map[string]int{"b/2.wav": 1000, "a.wav": 700, "b/1.WAV": 900, "c/d/e.wav": 1200, "z.wav": 1500}
	for name, n := range files {
		writeWAV(t, filepath.Join(dir, name), n, 16000)
	}
	writeWAV(t, filepath.Join(dir, "lo.wav"), 400, 8000) // frames at its own rate
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.wav"), []byte("RIFF"), 0o644)

	train, valid, err := Build(dir, "wav", 0, 1)
	if train == nil || valid == nil {
		t.Fatalf("Build() returned no manifests: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "broken.wav") {
		t.Errorf("Build() error = %v, want one naming broken.wav", err)
	}
	want := []Entry{{"a.wav", 700}, {"b/1.WAV", 900}, {"b/2.wav", 1000}, {"c/d/e.wav", 1200}, {"lo.wav", 400}, {"z.wav", 1500}}
	if !slices.Equal(train.Entries, want) || len(valid.Entries) != 0 {
		t.Fatalf("train = %v, valid = %v; want train %v", train.Entries, valid.Entries, want)
	}
	if !filepath.IsAbs(train.Root) || train.Root != valid.Root {
		t.Errorf("roots %q, %q: want one absolute root", train.Root, valid.Root)
	}
	if train.Verify() != nil {
		t.Errorf("a built manifest does not verify: %v", train.Verify())
	}

	all, _, _ := Build(dir, ".wav", 1, 1)
	if len(all.Entries) != 0 {
		t.Errorf("fraction 1 left %d files in train", len(all.Entries))
	}
	for seed := range uint64(5) {
		tr1, va1, _ := Build(dir, "wav", 0.5, seed)
		tr2, va2, _ := Build(dir, "wav", 0.5, seed)
		if !slices.Equal(tr1.Entries, tr2.Entries) || !slices.Equal(va1.Entries, va2.Entries) {
			t.Fatalf("seed %d: two builds differ", seed)
		}
		merged := append(slices.Clone(tr1.Entries), va1.Entries...)
		slices.SortFunc(merged, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
		if !slices.Equal(merged, want) {
			t.Fatalf("seed %d: train+valid = %v, want %v", seed, merged, want)
		}
	}

	for _, tc := range []struct {
		name, root, ext string
		frac            float64
		want            string
	}{
		{"no such root", filepath.Join(dir, "nope"), "wav", 0, "root"},
		{"no matching files", dir, "flac", 0, "no .flac files"},
		{"percent not fraction", dir, "wav", 10, "not in [0, 1]"},
		{"NaN fraction", dir, "wav", math.NaN(), "not in [0, 1]"},
	} {
		tr, va, err := Build(tc.root, tc.ext, tc.frac, 1)
		if err == nil || tr != nil || va != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Build() = %v, %v, %v; want only an error containing %q", tc.name, tr, va, err, tc.want)
		}
	}
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "train.tsv")
	m := &Manifest{Root: dir, Entries: []Entry{{"a.wav", 1}, {"b.wav", 2}}}
	if err := WriteManifestFile(tsv, m); err != nil {
		t.Fatal(err)
	}
	_, err := ReadLabels(tsv, "ltr")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "train.ltr")+" does not exist") ||
		!strings.Contains(err.Error(), `"H E L L O | W O R L D |"`) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing .ltr: %v", err)
	}
	if err := WriteLabels(tsv, "wrd", []string{"HELLO WORLD", "HI"}); err != nil {
		t.Fatal(err)
	}
	wrd, err := ReadLabels(tsv, "wrd")
	if err != nil || !slices.Equal(wrd, []string{"HELLO WORLD", "HI"}) {
		t.Fatalf("ReadLabels(wrd) = %q, %v", wrd, err)
	}
	// A .wrd file copied to .ltr is caught with the format.
	os.WriteFile(filepath.Join(dir, "train.ltr"), []byte("HELLO WORLD\nHI\n"), 0o644)
	if _, err := ReadLabels(tsv, "ltr"); err == nil || !strings.Contains(err.Error(), `train.ltr line 1: "HELLO" is not a single letter`) {
		t.Fatalf("words in .ltr: %v", err)
	}
	// One line short.
	if err := WriteLabels(tsv, "ltr", []string{WordsToLetters("HELLO WORLD")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLabels(tsv, "ltr"); err == nil || !strings.Contains(err.Error(), "has 1 lines but manifest") ||
		!strings.Contains(err.Error(), "has 2 rows") {
		t.Fatalf("short .ltr: %v", err)
	}
	lines := []string{WordsToLetters("HELLO WORLD"), WordsToLetters("HI")}
	if err := WriteLabels(tsv, ".ltr", lines); err != nil {
		t.Fatal(err)
	}
	ltr, err := ReadLabels(tsv, ".ltr")
	if err != nil || !slices.Equal(ltr, []string{"H E L L O | W O R L D |", "H I |"}) {
		t.Fatalf("ReadLabels(ltr) = %q, %v", ltr, err)
	}
	if err := WriteLabels(tsv, "ltr", []string{"A\nB"}); err == nil {
		t.Error("WriteLabels accepted a label with a line break")
	}
}

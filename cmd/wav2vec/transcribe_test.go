package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/published"
	"github.com/wav2vec-go/wav2vec/train"
)

func TestTranscribeUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no input files"},
		{[]string{"--format", "doc", "a.wav"}, "--format must be one of"},
		{[]string{"--beam", "-1", "a.wav"}, "--beam"},
		{[]string{"-", "-"}, "only once"},
		{[]string{"--workers", "0", "a.wav"}, "--workers"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, _, errOut := runCLI(t, append([]string{"transcribe"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestTranscribeNoDefaultModel(t *testing.T) {
	if _, err := defaultmodel.Model(); err == nil {
		t.Skip("this build embeds a default model")
	}
	code, out, errOut := runCLI(t, "transcribe", "a.wav")
	if code != exitFail || out != "" || !strings.Contains(errOut, "no default model is embedded in this build; pass --model") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestTranscribeDefault: without --model the embedded model decodes with its
// LM and lexicon; --lm none --lexicon none is the library's greedy decoding.
func TestTranscribeDefault(t *testing.T) {
	m, err := defaultmodel.Model()
	if err != nil {
		t.Skip("no default model embedded")
	}
	if opt, err := defaultmodel.Options(); err != nil || opt.LM == nil {
		t.Skipf("no default LM embedded (%v)", err)
	}
	file := "../../testdata/speech/noisy_reverb.wav"
	x, err := audio.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	greedy, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := greedy.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "transcribe", "-q", "--lm", "none", "--lexicon", "none", file)
	if code != exitOK || stdout != want.Text+"\n" {
		t.Errorf("--lm none --lexicon none: exit %d, %q, want greedy's %q\n%s", code, stdout, want.Text, stderr)
	}
	// The greedy transcript misspells a word; the lexicon and LM mend it.
	const ref = "WE ARE NOT ANTICIPATING ANY EMERGENCIES"
	if want.Text == ref {
		t.Fatalf("greedy decoding is already right (%q): the test below shows nothing", want.Text)
	}
	code, stdout, stderr = runCLI(t, "transcribe", "-q", file)
	if code != exitOK || stdout != ref+"\n" {
		t.Errorf("default decoding: exit %d, %q, want %q\n%s", code, stdout, ref, stderr)
	}
	// The same model as a file decodes greedily, unless the embedded LM
	// and lexicon are asked for by name.
	model := "../../asr/defaultmodel/default.safetensors"
	code, stdout, stderr = runCLI(t, "transcribe", "-q", "--model", model, file)
	if code != exitOK || stdout != want.Text+"\n" {
		t.Errorf("--model: exit %d, %q, want greedy's %q\n%s", code, stdout, want.Text, stderr)
	}
	code, stdout, stderr = runCLI(t, "transcribe", "-q", "--model", model, "--lm", "default", "--lexicon", "default", file)
	if code != exitOK || stdout != ref+"\n" {
		t.Errorf("--model with --lm default --lexicon default: exit %d, %q, want %q\n%s", code, stdout, ref, stderr)
	}
}

func TestTranscribe(t *testing.T) {
	dir, out, _, _ := toyRun(t, "scratch", 2)
	model := train.LastPath(out)
	good1, good2 := filepath.Join(dir, "valid-00.wav"), filepath.Join(dir, "valid-01.wav")
	short := filepath.Join(dir, "short.wav")
	if err := audio.WriteFile(short, make([]float32, 200), audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.wav")
	if err := os.WriteFile(broken, []byte("RIFF....not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.wav")

	// What the library says, to compare with.
	m, err := asr.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := audio.ReadFile(good2)
	if err != nil {
		t.Fatal(err)
	}
	want2, err := tr.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("txt with bad files", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "-q", good1, missing, short, good2, broken)
		if code != exitFail {
			t.Errorf("exit %d, want 1", code)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], good1+"\t") || lines[1] != good2+"\t"+want2.Text {
			t.Errorf("stdout %q: want 2 lines NAME<TAB>TEXT, the second %q", stdout, good2+"\t"+want2.Text)
		}
		errLines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(errLines) != 3 {
			t.Errorf("stderr has %d lines, want 3 (one per bad file):\n%s", len(errLines), stderr)
		}
		for _, f := range []string{missing, short, broken} {
			if !strings.Contains(stderr, f) {
				t.Errorf("stderr does not name %s:\n%s", f, stderr)
			}
		}
		if !strings.Contains(stderr, "too short") || strings.Contains(stderr, "panic") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})
	t.Run("subtitles for several files", func(t *testing.T) {
		for _, format := range []string{"srt", "vtt"} {
			code, _, stderr := runCLI(t, "transcribe", "--model", model, "--format", format, good1, good2)
			if code != exitUsage || !strings.Contains(stderr, "--output-dir") {
				t.Errorf("%s without --output-dir: exit %d, stderr:\n%s", format, code, stderr)
			}
			outDir := filepath.Join(t.TempDir(), "subs")
			code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "--format", format, "-q", "--output-dir", outDir, good1, missing, good2)
			if code != exitFail || stdout != "" || !strings.Contains(stderr, missing) {
				t.Errorf("%s: exit %d, stdout %q, stderr:\n%s", format, code, stdout, stderr)
			}
			entries, err := os.ReadDir(outDir)
			if err != nil || len(entries) != 2 {
				t.Fatalf("%s: %v in %s (%v), want valid-00 and valid-01 only", format, entries, outDir, err)
			}
			for _, f := range []string{good1, good2} {
				name := strings.TrimSuffix(filepath.Base(f), ".wav") + "." + format
				doc, err := os.ReadFile(filepath.Join(outDir, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := parseSubtitles(string(doc), format == "vtt"); err != nil {
					t.Errorf("%s: %v\n%s", name, err, doc)
				}
				_, alone, _ := runCLI(t, "transcribe", "--model", model, "--format", format, "-q", f)
				if string(doc) != alone {
					t.Errorf("%s differs from the file transcribed alone:\n%s\nalone:\n%s", name, doc, alone)
				}
			}
		}
		code, _, stderr := runCLI(t, "transcribe", "--model", model, "--output-dir", t.TempDir(), good1, filepath.Join(dir, "sub", "valid-00.wav"))
		if code != exitUsage || !strings.Contains(stderr, "would both be written to") {
			t.Errorf("two inputs named alike: exit %d, stderr:\n%s", code, stderr)
		}
	})
	t.Run("window", func(t *testing.T) {
		for _, args := range [][]string{{"--window", "0.01"}, {"--overlap", "0.05"}, {"--window", "-1"}} {
			code, stdout, stderr := runCLI(t, append([]string{"transcribe", "--model", model}, append(args, good1)...)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, args[0]) && !strings.Contains(stderr, strings.TrimPrefix(args[0], "--")) {
				t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, stdout, stderr)
			}
		}
	})
	t.Run("stdin pipe", func(t *testing.T) {
		data, err := os.ReadFile(good2)
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		pipe := struct{ io.Reader }{bytes.NewReader(data)} // not seekable
		code := run(context.Background(), []string{"transcribe", "--model", model, "-q", "-"}, pipe, &stdout, &stderr)
		if code != exitOK || stdout.String() != want2.Text+"\n" {
			t.Errorf("exit %d, %q, want %q\n%s", code, stdout.String(), want2.Text, stderr.String())
		}
	})
	t.Run("lexicon", func(t *testing.T) {
		lower := filepath.Join(dir, "lower.txt")
		if err := os.WriteFile(lower, []byte("hello\nworld\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "--lexicon", lower, good2)
		if code != exitFail || stdout != "" || !strings.Contains(stderr, "none of the lexicon's 2 words can be spelled") {
			t.Errorf("a lower-case lexicon: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
		}
		code, _, stderr = runCLI(t, "transcribe", "--model", model, "--lexicon", missing, good2)
		if code != exitFail || !strings.Contains(stderr, missing) {
			t.Errorf("a missing lexicon: exit %d, stderr:\n%s", code, stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "transcribe", "--model", model, "--format", "json", "-q", good1, good2)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 {
			t.Fatalf("want 2 JSON lines:\n%s", stdout)
		}
		var r struct {
			File     string
			Text     string
			Duration float64
			Words    []struct {
				Word       string
				Start, End float64
			}
		}
		if err := json.Unmarshal([]byte(lines[1]), &r); err != nil {
			t.Fatal(err)
		}
		if r.File != good2 || r.Text != want2.Text || len(r.Words) != len(want2.Words) || r.Duration <= 0 {
			t.Errorf("got %+v, want the text %q", r, want2.Text)
		}
		for _, w := range r.Words {
			if w.Start < 0 || w.End < w.Start || w.End > r.Duration {
				t.Errorf("word %+v outside [0, %g]", w, r.Duration)
			}
		}
	})
	t.Run("stdin and subtitles", func(t *testing.T) {
		data, err := os.ReadFile(good2)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"srt", "vtt"} {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"transcribe", "--model", model, "--format", format, "-q", "-"},
				bytes.NewReader(data), &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", format, code, stderr.String())
			}
			var want bytes.Buffer
			if err := asr.WriteResult(&want, format, "<stdin>", want2); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != want.String() {
				t.Errorf("%s from stdin:\n%s\nwant\n%s", format, stdout.String(), want.String())
			}
		}
	})
}

// parseSubtitles checks that doc is one valid SRT document (vtt false) or
// WebVTT document: the header once at the top (VTT, with an optional NOTE
// block), then cues separated by one blank line, SRT cues numbered from 1
// without gaps, each cue's times well-formed, its start before its end and
// not before the previous cue's end, and a line of text.
func parseSubtitles(doc string, vtt bool) error {
	sep := ","
	if vtt {
		sep = "."
		rest, ok := strings.CutPrefix(doc, "WEBVTT\n\n")
		if !ok {
			return fmt.Errorf("no WEBVTT header")
		}
		doc = rest
		if strings.HasPrefix(doc, "NOTE ") {
			_, doc, _ = strings.Cut(doc, "\n\n")
		}
	}
	if doc == "" {
		return nil
	}
	if !strings.HasSuffix(doc, "\n\n") {
		return fmt.Errorf("the document does not end with a blank line")
	}
	ts := `(\d\d):([0-5]\d):([0-5]\d)` + regexp.QuoteMeta(sep) + `(\d\d\d)`
	timing := regexp.MustCompile("^" + ts + " --> " + ts + "$")
	seconds := func(m []string) float64 {
		h, _ := strconv.Atoi(m[0])
		mi, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		ms, _ := strconv.Atoi(m[3])
		return float64(h*3600+mi*60+s) + float64(ms)/1000
	}
	last := 0.0
	for i, cue := range strings.Split(strings.TrimSuffix(doc, "\n\n"), "\n\n") {
		lines := strings.Split(cue, "\n")
		if !vtt {
			if len(lines) == 0 || lines[0] != strconv.Itoa(i+1) {
				return fmt.Errorf("cue %d is numbered %q", i+1, lines[0])
			}
			lines = lines[1:]
		}
		if len(lines) != 2 || strings.TrimSpace(lines[1]) == "" {
			return fmt.Errorf("cue %d: %q is not a timing line and one line of text", i+1, cue)
		}
		m := timing.FindStringSubmatch(lines[0])
		if m == nil {
			return fmt.Errorf("cue %d: bad timing line %q", i+1, lines[0])
		}
		start, end := seconds(m[1:5]), seconds(m[5:9])
		if end <= start || start < last {
			return fmt.Errorf("cue %d: %s goes backwards (previous cue ended at %.3f s)", i+1, lines[0], last)
		}
		last = end
		if strings.Contains(lines[1], "WEBVTT") {
			return fmt.Errorf("cue %d: a second header", i+1)
		}
	}
	return nil
}

// TestTranscribeSubtitlesLong: a 75 s recording (longer than a window, so
// decoded in segments) and a short one, as srt and vtt with --output-dir:
// one strictly valid document per input, with many cues numbered and timed
// across the segments, equal to what the library writes.
func TestTranscribeSubtitlesLong(t *testing.T) {
	m, err := defaultmodel.Model()
	if err != nil {
		t.Skip("no default model embedded")
	}
	var x []float32
	for len(x) < 75*audio.SampleRate {
		for _, f := range []string{"clear_train_voice", "heldout_voice", "noisy_reverb"} {
			y, err := audio.ReadFile("../../testdata/speech/" + f + ".wav")
			if err != nil {
				t.Fatal(err)
			}
			x = append(append(x, y...), make([]float32, audio.SampleRate/2)...)
		}
	}
	dir := t.TempDir()
	long, short := filepath.Join(dir, "long.wav"), "../../testdata/speech/noisy_reverb.wav"
	if err := audio.WriteFile(long, x, audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	if x, err = audio.ReadFile(long); err != nil { // as 16-bit samples
		t.Fatal(err)
	}
	tr, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := tr.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"srt", "vtt"} {
		out := filepath.Join(dir, format)
		code, stdout, stderr := runCLI(t, "transcribe", "--lm", "none", "--lexicon", "none", "--format", format, "--output-dir", out, "-q", long, short)
		if code != exitOK || stdout != "" {
			t.Fatalf("%s: exit %d, stdout %q, stderr:\n%s", format, code, stdout, stderr)
		}
		doc, err := os.ReadFile(filepath.Join(out, "long."+format))
		if err != nil {
			t.Fatal(err)
		}
		if err := parseSubtitles(string(doc), format == "vtt"); err != nil {
			t.Errorf("long.%s: %v\n%s", format, err, doc)
		}
		if n := strings.Count(string(doc), " --> "); n < 10 {
			t.Errorf("long.%s has %d cues, want many", format, n)
		}
		var lib bytes.Buffer
		if err := asr.WriteResult(&lib, format, long, want); err != nil {
			t.Fatal(err)
		}
		if string(doc) != lib.String() {
			t.Errorf("long.%s differs from the library's document:\n%s\nlibrary:\n%s", format, doc, lib.String())
		}
		doc, err = os.ReadFile(filepath.Join(out, "noisy_reverb."+format))
		if err != nil {
			t.Fatal(err)
		}
		if err := parseSubtitles(string(doc), format == "vtt"); err != nil || !strings.Contains(string(doc), " --> ") {
			t.Errorf("noisy_reverb.%s: %v\n%s", format, err, doc)
		}
	}
}

// TestTranscribePublished: --model takes a Hugging Face folder, or
// hf:OWNER/NAME from the Hugging Face cache, and gives what the library
// gives for that model; eval takes them too.
func TestTranscribePublished(t *testing.T) {
	dir := filepath.Join("..", "..", "published", "testdata", "w2v2-large-ctc")
	wav := filepath.Join("..", "..", "testdata", "speech", "heldout_voice.wav")
	pm, err := published.LoadHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := asr.FromPublished(pm)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := asr.NewTranscriber(m, asr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := audio.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tr.Transcribe(x)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "transcribe", "-q", "--model", dir, wav)
	if code != exitOK || strings.TrimSpace(out) != want.Text {
		t.Fatalf("folder: exit %d, %q, want %q\n%s", code, out, want.Text, errOut)
	}
	// The same model as a fairseq checkpoint, with its dict.ltr.txt.
	code, out, errOut = runCLI(t, "transcribe", "-q", "--model", filepath.Join(dir, "fairseq.pt"), wav)
	if code != exitOK || strings.TrimSpace(out) != want.Text {
		t.Fatalf("fairseq: exit %d, %q, want %q\n%s", code, out, want.Text, errOut)
	}
	// The same model from a Hugging Face cache.
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	snap := filepath.Join(cache, "models--someone--tiny", "snapshots", "0123abcd")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.json", "preprocessor_config.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(snap, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(cache, "models--someone--tiny", "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "models--someone--tiny", "refs", "main"), []byte("0123abcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "transcribe", "-q", "--model", "hf:someone/tiny", wav)
	if code != exitOK || strings.TrimSpace(out) != want.Text {
		t.Fatalf("hf: exit %d, %q, want %q\n%s", code, out, want.Text, errOut)
	}
	t.Setenv("HF_HUB_OFFLINE", "1") // no test reaches the internet
	code, _, errOut = runCLI(t, "transcribe", "-q", "--model", "hf:someone/missing", wav)
	if code != exitFail || !strings.Contains(errOut, "not in the Hugging Face cache") {
		t.Errorf("a model not in the cache: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, "transcribe", "-q", "--model", filepath.Join("..", "..", "published", "testdata", "w2v2-base"), wav)
	if code != exitFail || !strings.Contains(errOut, "no CTC head") {
		t.Errorf("a model without a head: exit %d\n%s", code, errOut)
	}
}

// TestConvert: convert writes a published model as a toolkit checkpoint
// that transcribes exactly as the original does; bad arguments exit 2.
func TestConvert(t *testing.T) {
	dir := filepath.Join("..", "..", "published", "testdata", "hubert-large-ctc")
	wav := filepath.Join("..", "..", "testdata", "speech", "noisy_reverb.wav")
	out := filepath.Join(t.TempDir(), "m.safetensors")
	for _, src := range []string{dir, filepath.Join(dir, "fairseq.pt")} {
		code, _, errOut := runCLI(t, "convert", src, out)
		if code != exitOK {
			t.Fatalf("convert %s: exit %d\n%s", src, code, errOut)
		}
		_, a, _ := runCLI(t, "transcribe", "-q", "--model", src, wav)
		_, b, _ := runCLI(t, "transcribe", "-q", "--model", out, wav)
		if a == "" || a != b {
			t.Errorf("%s: %q, converted %q", src, a, b)
		}
	}
	if code, _, _ := runCLI(t, "convert", dir); code != exitUsage {
		t.Errorf("one argument: exit %d", code)
	}
	if code, _, _ := runCLI(t, "convert", dir, "out.bin"); code != exitUsage {
		t.Errorf("output not .safetensors: exit %d", code)
	}
	if code, _, errOut := runCLI(t, "convert", filepath.Join("..", "..", "published", "testdata", "hubert-base"), out); code != exitFail || !strings.Contains(errOut, "no CTC head") {
		t.Errorf("a model without a head: exit %d\n%s", code, errOut)
	}
}

// TestTranscribeDownload: hf:OWNER/NAME that is not in the cache is
// downloaded from $HF_ENDPOINT into it, with progress lines on stderr;
// HF_HUB_OFFLINE=1 refuses instead.
func TestTranscribeDownload(t *testing.T) {
	dir := filepath.Join("..", "..", "published", "testdata", "w2v2-base-ctc")
	files := map[string][]byte{}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.json", "preprocessor_config.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	const commit = "89abcdef0123456789abcdef0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file, ok := strings.CutPrefix(r.URL.Path, "/someone/tiny/resolve/")
		_, file, _ = strings.Cut(file, "/")
		b, found := files[file]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("ETag", fmt.Sprintf(`"blob-%d"`, len(b)))
		http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(b))
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	wav := filepath.Join("..", "..", "testdata", "speech", "heldout_voice.wav")
	t.Setenv("HF_HUB_OFFLINE", "1")
	if code, _, errOut := runCLI(t, "transcribe", "-q", "--model", "hf:someone/tiny", wav); code != exitFail || !strings.Contains(errOut, "not in the Hugging Face cache") {
		t.Errorf("offline: exit %d\n%s", code, errOut)
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	code, out, errOut := runCLI(t, "transcribe", "-q", "--model", "hf:someone/tiny", wav)
	_, want, _ := runCLI(t, "transcribe", "-q", "--model", dir, wav)
	if code != exitOK || out != want || !strings.Contains(errOut, "downloaded model.safetensors") {
		t.Errorf("exit %d, %q, want %q\n%s", code, out, want, errOut)
	}
}

// TestExtractPublished: extract takes a published model and writes its
// features, its output or a layer's, as the library does; a layer it does
// not have is an error.
func TestExtractPublished(t *testing.T) {
	model := filepath.Join("..", "..", "published", "testdata", "hubert-base", "fairseq.pt")
	wav := filepath.Join("..", "..", "testdata", "speech", "clear_train_voice.wav")
	out := t.TempDir()
	pm, err := published.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range []string{"z", "c", "2"} {
		code, _, errOut := runCLI(t, "extract", "-q", "--model", model, "--layer", layer, "--out", out, wav)
		if code != exitOK {
			t.Fatalf("layer %s: exit %d\n%s", layer, code, errOut)
		}
		got, err := os.ReadFile(filepath.Join(out, "clear_train_voice.npy"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(wav)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		_, _, err = pm.ExtractTo(&want, f, layer)
		f.Close()
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("layer %s: the file differs from the library's (%v)", layer, err)
		}
	}
	if code, _, errOut := runCLI(t, "extract", "-q", "--model", model, "--layer", "9", "--out", out, wav); code != exitFail || !strings.Contains(errOut, "want z, c or 1 to 2") {
		t.Errorf("layer 9: exit %d\n%s", code, errOut)
	}
}

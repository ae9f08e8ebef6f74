package published

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub serves a repository's files the way the Hugging Face hub does:
// HEAD /OWNER/NAME/resolve/REV/FILE answers with X-Repo-Commit and the
// file's etag and size (large files redirect to their content, with
// X-Linked-Etag, the sha256, and X-Linked-Size), and GET serves the
// content, ranges included.
type fakeHub struct {
	repo, commit string
	files        map[string][]byte
	mu           sync.Mutex
	gets, ranges int
	cut          map[string]bool // the next GET of these files stops half-way
	corrupt      bool            // serve large files with a flipped byte
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sha, ok := strings.CutPrefix(r.URL.Path, "/lfs/"); ok {
		for name, b := range h.files {
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) == sha {
				h.serve(w, r, name, b)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+h.repo+"/resolve/")
	rev, file, _ := strings.Cut(rest, "/")
	b, found := h.files[file]
	if !ok || (rev != "main" && rev != h.commit) || !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Repo-Commit", h.commit)
	if len(b) > 1000 { // an LFS file
		sum := sha256.Sum256(b)
		w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(b)))
		http.Redirect(w, r, "/lfs/"+hex.EncodeToString(sum[:]), http.StatusFound)
		return
	}
	w.Header().Set("ETag", fmt.Sprintf(`"git-%x"`, len(b)))
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		return
	}
	h.serve(w, r, file, b)
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request, name string, b []byte) {
	h.mu.Lock()
	h.gets++
	if r.Header.Get("Range") != "" {
		h.ranges++
	}
	cut := h.cut[name]
	delete(h.cut, name)
	corrupt := h.corrupt && len(b) > 1000
	h.mu.Unlock()
	if corrupt {
		b = append([]byte(nil), b...)
		b[len(b)/2] ^= 1
	}
	if cut {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b[:len(b)/2])
		panic(http.ErrAbortHandler) // the connection drops
	}
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(b)))
}

// newFakeHub serves a copy of a fixture folder as someone/tiny.
func newFakeHub(t *testing.T, fixture string) (*fakeHub, *httptest.Server) {
	t.Helper()
	h := &fakeHub{repo: "someone/tiny", commit: "0123456789abcdef0123456789abcdef01234567", files: map[string][]byte{}, cut: map[string]bool{}}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.json", "preprocessor_config.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		h.files[f] = b
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	return h, srv
}

// TestDownload: a model is fetched into the huggingface_hub cache layout,
// loads and gives the fixture's outputs; a second call fetches nothing; a
// download cut half-way resumes with a range request; a corrupt file fails
// its sha256 check.
func TestDownload(t *testing.T) {
	h, _ := newFakeHub(t, "w2v2-large-ctc")
	dir, err := Download(context.Background(), "someone/tiny", nil)
	if err != nil {
		t.Fatal(err)
	}
	cache, _ := CacheDir()
	root := filepath.Join(cache, "models--someone--tiny")
	if dir != filepath.Join(root, "snapshots", h.commit) {
		t.Errorf("snapshot %s", dir)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "refs", "main")); string(b) != h.commit {
		t.Errorf("refs/main holds %q", b)
	}
	if target, err := os.Readlink(filepath.Join(dir, "model.safetensors")); err != nil || !strings.HasPrefix(target, "../../blobs/") {
		t.Errorf("model.safetensors links to %q (%v)", target, err)
	}
	if resolved, err := ResolveCached("someone/tiny"); err != nil || resolved != dir {
		t.Errorf("ResolveCached: %s, %v", resolved, err)
	}
	parity(t, "w2v2-large-ctc", dir)
	gets := h.gets
	if _, err := Download(context.Background(), "someone/tiny", nil); err != nil || h.gets != gets {
		t.Errorf("a second download made %d GET requests (%v)", h.gets-gets, err)
	}

	// Resume: a fresh cache, the weights cut half-way.
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	h.cut["model.safetensors"] = true
	var log strings.Builder
	if _, err := Download(context.Background(), "someone/tiny", &log); err == nil || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("cut download: %v", err)
	}
	if _, err := Download(context.Background(), "someone/tiny", &log); err != nil || h.ranges != 1 {
		t.Fatalf("resumed download: %v, %d range requests", err, h.ranges)
	}
	if !strings.Contains(log.String(), "downloaded model.safetensors") {
		t.Errorf("progress lines:\n%s", log.String())
	}

	// A corrupt download is refused and not kept.
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	h.corrupt = true
	if _, err := Download(context.Background(), "someone/tiny", nil); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("corrupt download: %v", err)
	}
	cache, _ = CacheDir()
	if m, _ := filepath.Glob(filepath.Join(cache, "models--someone--tiny", "blobs", "*.incomplete")); len(m) != 0 {
		t.Errorf("corrupt parts kept: %v", m)
	}
	h.corrupt = false

	// Missing model, bad names.
	for name, want := range map[string]string{"someone/other": "404", "../x": "want hf:OWNER/NAME", "someone/tiny@a/b": "want hf:OWNER/NAME"} {
		if _, err := Download(context.Background(), name, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

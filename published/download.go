package published

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Endpoint returns the hub's address: $HF_ENDPOINT, else
// https://huggingface.co.
func Endpoint() string {
	if e := os.Getenv("HF_ENDPOINT"); e != "" {
		return strings.TrimRight(e, "/")
	}
	return "https://huggingface.co"
}

// Offline reports whether the hub must not be contacted ($HF_HUB_OFFLINE
// set to 1, as huggingface_hub reads it).
func Offline() bool { return os.Getenv("HF_HUB_OFFLINE") == "1" }

// maxDownload bounds one file: the largest published wav2vec 2.0 models
// (XLS-R 2B) are under 10 GB.
const maxDownload = 64 << 30

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	safeEtag  = regexp.MustCompile(`^[0-9A-Za-z._-]{1,128}$`)
	safeRev   = regexp.MustCompile(`^[0-9A-Za-z._-]{1,128}$`)
)

// Download fetches a hub model, hf:OWNER/NAME[@REVISION], into the
// huggingface_hub cache, laid out as huggingface_hub lays it out (blobs
// named by their etag, a snapshot folder of links, refs), and returns the
// snapshot folder. It fetches config.json, preprocessor_config.json and
// vocab.json when the model has them, and the weights: model.safetensors,
// else the shards of model.safetensors.index.json, else
// pytorch_model.bin. A file already in the cache is not fetched again; an
// interrupted download resumes where it stopped (an HTTP range request);
// a large file's sha256 is checked against the hub's. Progress lines go
// to progress. $HF_TOKEN, if set, is sent for gated models.
func Download(ctx context.Context, name string, progress io.Writer) (string, error) {
	repo, rev, _ := strings.Cut(name, "@")
	if rev == "" {
		rev = "main"
	}
	if !repoName.MatchString(repo) || strings.Contains(repo, "..") || !safeRev.MatchString(rev) || strings.Contains(rev, "..") {
		return "", fmt.Errorf("published: hf:%s: want hf:OWNER/NAME[@REVISION]", name)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	d := &downloader{
		ctx: ctx, repo: repo, rev: rev, progress: progress,
		root:     filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--")),
		endpoint: Endpoint(),
		noRedirect: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	if err := d.fetch("config.json", false); err != nil {
		return "", err
	}
	for _, f := range []string{"preprocessor_config.json", "vocab.json"} {
		if err := d.fetch(f, true); err != nil {
			return "", err
		}
	}
	if err := d.weights(); err != nil {
		return "", err
	}
	if d.commit != rev {
		if err := os.MkdirAll(filepath.Join(d.root, "refs"), 0o755); err != nil {
			return "", fmt.Errorf("published: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d.root, "refs", rev), []byte(d.commit), 0o644); err != nil {
			return "", fmt.Errorf("published: %w", err)
		}
	}
	return filepath.Join(d.root, "snapshots", d.commit), nil
}

// downloader fetches the files of one revision of a repository.
type downloader struct {
	ctx        context.Context
	repo, rev  string
	root       string // the repository's folder in the cache
	endpoint   string
	commit     string // the revision's commit, from the first answer
	progress   io.Writer
	noRedirect *http.Client
}

// errMissing is a file the repository does not have.
var errMissing = errors.New("not in the repository")

// weights fetches the weights in the first form the model has.
func (d *downloader) weights() error {
	err := d.fetch("model.safetensors", true)
	if err != nil || d.has("model.safetensors") {
		return err
	}
	if err := d.fetch("model.safetensors.index.json", true); err != nil {
		return err
	}
	if d.has("model.safetensors.index.json") {
		shards, err := shardFiles(filepath.Join(d.root, "snapshots", d.commit, "model.safetensors.index.json"))
		if err != nil {
			return err
		}
		for _, f := range shards {
			if err := d.fetch(f, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := d.fetch("pytorch_model.bin", true); err != nil {
		return err
	}
	if !d.has("pytorch_model.bin") {
		return fmt.Errorf("published: hf:%s@%s has no model.safetensors, model.safetensors.index.json or pytorch_model.bin", d.repo, d.rev)
	}
	return nil
}

// has reports whether the snapshot holds file.
func (d *downloader) has(file string) bool {
	_, err := os.Stat(filepath.Join(d.root, "snapshots", d.commit, file))
	return err == nil
}

// url is the address of a file at the revision (the commit once known).
func (d *downloader) url(file string) string {
	rev := d.rev
	if d.commit != "" {
		rev = d.commit
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", d.endpoint, d.repo, rev, file)
}

// request makes a request with the token, if any.
func (d *downloader) request(method, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(d.ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	if tok := os.Getenv("HF_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("User-Agent", "wav2vec-go")
	return req, nil
}

// fetch puts file into the cache: its blob, and its link in the
// snapshot. A missing optional file is not an error.
func (d *downloader) fetch(file string, optional bool) error {
	req, err := d.request(http.MethodHead, d.url(file))
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := d.noRedirect.Do(req)
	if err != nil {
		return fmt.Errorf("published: hf:%s: %w", d.repo, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound && optional:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("published: hf:%s: %s: %s (a gated or private model needs HF_TOKEN)", d.repo, file, resp.Status)
	case resp.StatusCode >= 400:
		return fmt.Errorf("published: hf:%s: %s: %s", d.repo, file, resp.Status)
	}
	commit := resp.Header.Get("X-Repo-Commit")
	if d.commit == "" {
		if !safeRev.MatchString(commit) {
			return fmt.Errorf("published: hf:%s: the hub gave no commit for %s", d.repo, d.rev)
		}
		d.commit = commit
	}
	etag := resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	size, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64)
	if err != nil {
		size, err = strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	}
	if !safeEtag.MatchString(etag) || err != nil || size < 0 || size > maxDownload {
		return fmt.Errorf("published: hf:%s: %s: the hub gave no usable etag and size", d.repo, file)
	}
	blob := filepath.Join(d.root, "blobs", etag)
	if info, err := os.Stat(blob); err != nil || info.Size() != size {
		if err := d.download(file, blob, size, etag); err != nil {
			return err
		}
	}
	return d.link(file, blob)
}

// download fetches a file into blob through blob.incomplete, resuming what
// an earlier try left, and checks its size and, for a large file, the
// sha256 the hub gave as its etag.
func (d *downloader) download(file, blob string, size int64, etag string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	part := blob + ".incomplete"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	if have > size {
		have = 0
	}
	if have < size {
		req, err := d.request(http.MethodGet, d.url(file))
		if err != nil {
			return fmt.Errorf("published: %w", err)
		}
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("published: hf:%s: %s: %w", d.repo, file, err)
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusPartialContent:
		case http.StatusOK:
			have = 0 // the server sent it whole
		default:
			return fmt.Errorf("published: hf:%s: %s: %s", d.repo, file, resp.Status)
		}
		if err := f.Truncate(have); err != nil {
			return fmt.Errorf("published: %w", err)
		}
		if _, err := f.Seek(have, io.SeekStart); err != nil {
			return fmt.Errorf("published: %w", err)
		}
		p := &progressWriter{w: d.progress, name: file, done: have, total: size}
		n, err := io.Copy(io.MultiWriter(f, p), io.LimitReader(resp.Body, size-have+1))
		p.finish()
		if err != nil {
			return fmt.Errorf("published: hf:%s: %s: %w (run again to resume)", d.repo, file, err)
		}
		if have+n != size {
			return fmt.Errorf("published: hf:%s: %s: got %d bytes, the hub announced %d (run again to resume)", d.repo, file, have+n, size)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	if hexSHA256.MatchString(etag) {
		if err := checkSHA256(part, etag); err != nil {
			os.Remove(part)
			return fmt.Errorf("published: hf:%s: %s: %w", d.repo, file, err)
		}
	}
	if err := os.Rename(part, blob); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	return nil
}

// checkSHA256 compares a file's sha256 with want.
func checkSHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, the hub's is %s: the download is corrupt and was removed", got, want)
	}
	return nil
}

// link puts file into the snapshot as a link to its blob (a copy where
// links are not possible).
func (d *downloader) link(file, blob string) error {
	dst := filepath.Join(d.root, "snapshots", d.commit, file)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("published: %w", err)
	}
	if target, err := os.Readlink(dst); err == nil && target == filepath.Join("..", "..", "blobs", filepath.Base(blob)) {
		return nil
	}
	os.Remove(dst)
	if err := os.Symlink(filepath.Join("..", "..", "blobs", filepath.Base(blob)), dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(blob)
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	return os.WriteFile(dst, b, 0o644)
}

// progressWriter reports a download's progress every few seconds and at
// the end.
type progressWriter struct {
	w           io.Writer
	name        string
	done, total int64
	last        time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.w != nil && time.Since(p.last) > 2*time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.w, "wav2vec: downloading %s: %.1f of %.1f MB (%.0f%%)\n", p.name, float64(p.done)/1e6, float64(p.total)/1e6, 100*float64(p.done)/float64(max(p.total, 1)))
	}
	return len(b), nil
}

func (p *progressWriter) finish() {
	if p.w != nil {
		fmt.Fprintf(p.w, "wav2vec: downloaded %s (%.1f MB)\n", p.name, float64(p.done)/1e6)
	}
}

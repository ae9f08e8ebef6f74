package published

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// repoName is a hub model name: OWNER/NAME, each of letters, digits and
// - _ . (no "..": the name becomes a folder name).
var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// CacheDir returns the huggingface_hub cache folder: $HF_HUB_CACHE, else
// $HF_HOME/hub, else ~/.cache/huggingface/hub.
func CacheDir() (string, error) {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("published: no HF_HOME and no home folder: %w", err)
	}
	return filepath.Join(home, ".cache", "huggingface", "hub"), nil
}

// ResolveCached returns the folder of a hub model in the huggingface_hub
// cache: name is OWNER/NAME, optionally @REVISION (a branch, a tag or a
// commit hash; main by default), and the folder is
// CACHE/models--OWNER--NAME/snapshots/COMMIT, the commit read from
// refs/REVISION for a branch or a tag.
func ResolveCached(name string) (string, error) {
	repo, rev, _ := strings.Cut(name, "@")
	if rev == "" {
		rev = "main"
	}
	if !repoName.MatchString(repo) || strings.Contains(repo, "..") {
		return "", fmt.Errorf("published: hf:%s: want hf:OWNER/NAME[@REVISION]", name)
	}
	if strings.ContainsAny(rev, `/\`) || strings.Contains(rev, "..") {
		return "", fmt.Errorf("published: hf:%s: revision %q is not a branch, tag or commit", name, rev)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	commit := rev
	if b, err := os.ReadFile(filepath.Join(root, "refs", rev)); err == nil {
		commit = strings.TrimSpace(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("published: %w", err)
	}
	dir := filepath.Join(root, "snapshots", commit)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("published: hf:%s is not in the Hugging Face cache %s (download it there with huggingface-cli download %s; this version does not download)", name, cache, repo)
	}
	return dir, nil
}

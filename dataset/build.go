package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/wav2vec-go/wav2vec/audio"
)

// Build makes manifests of the audio files under root the way fairseq's
// wav2vec_manifest.py does: it walks root recursively in lexical order,
// takes every file whose name ends in "."+ext (case-insensitive; "" means
// "wav"), records its path relative to root and its length in frames at its
// own rate from the header, and sends each file to valid with probability
// validFraction (a fraction in [0, 1], as fairseq's --valid-percent: 0.01
// is 1%) using one draw per file from a PCG seeded with seed. The root line
// is root made absolute. Symbolic links to folders are not followed.
//
// A file that cannot go into a manifest (unreadable header, a TAB or newline
// in its name) is left out: Build then returns both manifests, non-nil, and
// an error joining one line per such file, so a caller can write the good
// part and still report failure. Any other error (root missing, no matching
// file, a bad fraction) returns nil manifests.
func Build(root, ext string, validFraction float64, seed uint64) (train, valid *Manifest, err error) {
	if !(validFraction >= 0 && validFraction <= 1) {
		return nil, nil, fmt.Errorf("dataset: valid fraction %g is not in [0, 1] (0.01 puts 1%% of the files in valid)", validFraction)
	}
	ext = strings.TrimPrefix(ext, ".")
	if ext == "" {
		ext = "wav"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: root %s: %w", root, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, nil, fmt.Errorf("dataset: root: %w", err)
	} else if !st.IsDir() {
		return nil, nil, fmt.Errorf("dataset: root %s is not a folder", root)
	}
	train, valid = &Manifest{Root: abs}, &Manifest{Root: abs}
	rng := rand.New(rand.NewPCG(seed, 0))
	suffix := "." + strings.ToLower(ext)
	var skipped []error
	found := 0
	walkErr := filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == abs {
				return err
			}
			skipped = append(skipped, fmt.Errorf("dataset: %s: %w", path, err))
			return nil // an unreadable sub-folder: skip it, go on
		}
		if d.IsDir() || !strings.HasSuffix(strings.ToLower(d.Name()), suffix) {
			return nil
		}
		found++
		rel, err := filepath.Rel(abs, path)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("dataset: %s: %w", path, err))
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "\t\n\r") {
			skipped = append(skipped, fmt.Errorf("dataset: %s: a TAB or line break in the name cannot go into a manifest", path))
			return nil
		}
		f, err := audio.ReadFileConfig(path)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("dataset: skipped: %w", err))
			return nil
		}
		dst := train
		if rng.Float64() < validFraction {
			dst = valid
		}
		dst.Entries = append(dst.Entries, Entry{Path: rel, Samples: f.Frames})
		return nil
	})
	if walkErr != nil {
		return nil, nil, fmt.Errorf("dataset: walking %s: %w", root, walkErr)
	}
	if found == 0 {
		return nil, nil, fmt.Errorf("dataset: no %s files under %s", suffix, root)
	}
	return train, valid, errors.Join(skipped...)
}

// Package atomicfile replaces files so that a crash, a kill or an error
// leaves either the old file or the complete new one, never a partial one.
package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with what write writes. It writes into a temporary
// file beside path (named by os.CreateTemp's pattern "."+base+".tmp*"),
// syncs it, makes it readable by all (0644), renames it over path and syncs
// the folder. On any error the temporary file is removed, path is left as it
// was, and the error is returned as it came: callers name the file. A
// process killed midway leaves the temporary file, which IsTemp recognises.
func Write(path string, write func(f *os.File) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	closed = true
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// IsTemp reports whether name (a base name) is a temporary file that Write
// made for the file named base.
func IsTemp(name, base string) bool {
	digits, ok := strings.CutPrefix(name, "."+base+".tmp")
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

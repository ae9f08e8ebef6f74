package lm

import (
	"bufio"
	"compress/gzip"
	"io"
)

// maybeGunzip returns what r holds, decompressed when it begins with
// gzip's magic bytes, so that LMs and lexicons may be stored gzipped.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(2); err == nil && b[0] == 0x1f && b[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

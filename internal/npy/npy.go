// Package npy writes NumPy .npy matrices of float32 (format 1.0,
// little-endian '<f4', C order), and the frames of a long WAV stream run
// window by window through a network, as one such matrix.
package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/wav2vec-go/wav2vec/audio"
	"github.com/wav2vec-go/wav2vec/encoder"
)

// WriteHeader writes the header of a rows x cols matrix; bw's Flush
// reports any error.
func WriteHeader(bw *bufio.Writer, rows, cols int) {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// magic (6) + version (2) + header length (2) + header + '\n', padded
	// with spaces to a multiple of 64 bytes.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
}

// WriteFloats writes values as little-endian float32; bw's Flush reports
// any error.
func WriteFloats(bw *bufio.Writer, data []float32) {
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
}

// Windows runs a network over the WAV stream r window by window and writes
// the frames it keeps as one frames x dim matrix to w. r is read twice for
// the mean and variance that normalise it (when normalize; otherwise the
// samples go as they are) and once more; in cuts it into windows of win
// frames whose kept centres have margin frames of audio on either side;
// run maps a window's samples to its frames x dim row-major output. It
// returns the matrix's shape; nothing is written for a refused stream.
func Windows(w io.Writer, r io.ReadSeeker, in *encoder.Input, normalize bool, win, margin int,
	run func(x []float32) (data []float32, dim int, err error)) (frames, dim int, err error) {
	norm, n64, err := audio.NormOf(r)
	if err != nil {
		return 0, 0, err
	}
	if !normalize {
		norm = audio.Norm{Scale: 1}
	}
	n := int(n64)
	F := in.Frames(n)
	if F < 1 {
		return 0, 0, fmt.Errorf("%d samples is shorter than the %d the model needs", n, in.MinSamples())
	}
	s, err := audio.NewStream(r)
	if err != nil {
		return 0, 0, err
	}
	bw := bufio.NewWriter(w)
	err = encoder.EachWindow(norm.Reader(s), n, in.Windows(n, win, margin), func(wd encoder.Window, x []float32) error {
		data, d, err := run(x)
		if err != nil {
			return err
		}
		if dim == 0 {
			dim = d
			WriteHeader(bw, F, dim)
		}
		WriteFloats(bw, data[wd.Keep0*dim:wd.Keep1*dim])
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	return F, dim, err
}

// FramesMajor returns a network's [C, T] channels-first output as the
// T x C matrix a .npy file holds (one row per frame).
func FramesMajor(v []float32, C, T int) []float32 {
	data := make([]float32, T*C)
	for c := range C {
		for t := range T {
			data[t*C+c] = v[c*T+t]
		}
	}
	return data
}

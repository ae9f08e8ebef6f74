package audio

import (
	"fmt"
	"io"
	"math"
)

// normEps is added to the variance before dividing, as the wav2vec 2.0
// feature extractors do (Hugging Face uses 1e-7): a constant signal becomes
// all zeros instead of NaN, and near-silence is not blown up to full scale.
const normEps = 1e-7

// Norm is the shift and scale of a normalisation: x -> (x - Mean) * Scale.
type Norm struct {
	Mean, Scale float64
}

// Apply normalises x in place.
func (n Norm) Apply(x []float32) {
	for i, v := range x {
		x[i] = float32((float64(v) - n.Mean) * n.Scale)
	}
}

// Reader returns a reader of s's samples normalised by n as they are read.
func (n Norm) Reader(s *Stream) *NormReader { return &NormReader{s: s, n: n} }

// NormReader reads a Stream's samples normalised (Norm.Reader).
type NormReader struct {
	s *Stream
	n Norm
}

// Read reads up to len(dst) normalised samples, as Stream.Read does.
func (r *NormReader) Read(dst []float32) (int, error) {
	n, err := r.s.Read(dst)
	r.n.Apply(dst[:n])
	return n, err
}

// sumOf adds the samples of x to sum, in order.
func sumOf(sum float64, x []float32) float64 {
	for _, v := range x {
		sum += float64(v)
	}
	return sum
}

// squaresOf adds the squared deviations of x from mean to ss, in order.
func squaresOf(ss float64, x []float32, mean float64) float64 {
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return ss
}

// Normalize shifts and scales x in place to zero mean and unit variance:
// x = (x - mean) / sqrt(var + 1e-7), with mean and variance over the whole
// slice, computed in float64. The variance comes out within 0.1% of 1 for
// a signal whose RMS is above -40 dBFS, within 1% above -50 dBFS; a
// constant signal becomes zeros. An empty slice is left alone.
func Normalize(x []float32) {
	if len(x) == 0 {
		return
	}
	mean := sumOf(0, x) / float64(len(x))
	ss := squaresOf(0, x, mean)
	Norm{mean, 1 / math.Sqrt(ss/float64(len(x))+normEps)}.Apply(x)
}

// NormOf returns the normalisation that Normalize would apply to the
// samples of the WAV stream r (bit for bit), and how many 16 kHz samples
// it holds, holding one block of them at a time. It reads the stream
// twice, seeking back to where r was, and leaves r there. Errors are those
// of NewStream and Stream.Read.
func NormOf(r io.ReadSeeker) (Norm, int64, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return Norm{}, 0, fmt.Errorf("audio: %w", err)
	}
	var sum, ss float64
	var n int64
	buf := make([]float32, rawBlock/2)
	for pass := range 2 {
		s, err := NewStream(r)
		if err != nil {
			return Norm{}, 0, err
		}
		mean := sum / float64(n)
		for {
			k, err := s.Read(buf)
			if pass == 0 {
				sum = sumOf(sum, buf[:k])
				n += int64(k)
			} else {
				ss = squaresOf(ss, buf[:k], mean)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return Norm{}, 0, err
			}
		}
		if _, err := r.Seek(start, io.SeekStart); err != nil {
			return Norm{}, 0, fmt.Errorf("audio: %w", err)
		}
	}
	if n == 0 {
		return Norm{Scale: 1}, 0, nil
	}
	return Norm{sum / float64(n), 1 / math.Sqrt(ss/float64(n)+normEps)}, n, nil
}

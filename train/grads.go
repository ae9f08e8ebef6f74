package train

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/dist"
	"github.com/wav2vec-go/wav2vec/nn"
)

// SumGrads replaces the gradients of params (frozen ones left out) by
// their sums over the ranks of c, with one allreduce of a flat buffer:
// each rank's gradient is first multiplied by scale (its share of the
// batch, when its loss is a mean over its own rows; 1 when it is already
// its part of the whole batch's). buf is reused when it is long enough and
// returned. Every rank must pass the same parameters in the same order.
func SumGrads(c dist.Comm, params []*nn.Param, scale float32, buf []float32) ([]float32, error) {
	n := 0
	for _, p := range params {
		if !p.Frozen {
			n += len(p.Data)
		}
	}
	if cap(buf) < n {
		buf = make([]float32, n)
	}
	buf = buf[:n]
	off := 0
	for _, p := range params {
		if p.Frozen {
			continue
		}
		dst := buf[off : off+len(p.Data)]
		if p.Grad == nil {
			clear(dst)
		} else if scale == 1 {
			copy(dst, p.Grad)
		} else {
			for i, g := range p.Grad {
				dst[i] = g * scale
			}
		}
		off += len(p.Data)
	}
	if err := c.AllreduceSum(buf); err != nil {
		return buf, err
	}
	off = 0
	for _, p := range params {
		if p.Frozen {
			continue
		}
		p.EnsureGrad()
		copy(p.Grad, buf[off:off+len(p.Data)])
		off += len(p.Data)
	}
	return buf, nil
}

// SameOnAllRanks checks that every rank of c holds the same values (a
// run's step and position, a checksum of its parameters) and returns an
// error on every rank when one differs from rank 0's, naming what.
func SameOnAllRanks(c dist.Comm, names []string, values []float64) error {
	if c == nil || c.Size() == 1 {
		return nil
	}
	mine := append([]float64(nil), values...)
	b := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	if err := c.Bcast(b, 0); err != nil {
		return err
	}
	bad := []float64{0}
	var first string
	for i := range values {
		if v := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])); v != mine[i] && !(math.IsNaN(v) && math.IsNaN(mine[i])) {
			bad[0] = 1
			if first == "" {
				first = fmt.Sprintf("rank %d has %s %g, rank 0 has %g", c.Rank(), names[i], mine[i], v)
			}
		}
	}
	if err := c.AllreduceSum64(bad); err != nil {
		return err
	}
	if bad[0] == 0 {
		return nil
	}
	if first == "" {
		first = "another rank differs"
	}
	return fmt.Errorf("train: the ranks do not start from the same state (%s): every rank must see the same --out, data and flags", first)
}

// Checksum returns the sum of every parameter value, for SameOnAllRanks.
func Checksum(params []*nn.Param) float64 {
	var s float64
	for _, p := range params {
		for _, v := range p.Data {
			s += float64(v)
		}
	}
	return s
}

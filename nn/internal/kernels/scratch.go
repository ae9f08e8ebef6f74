package kernels

import (
	"sync"
	"unsafe"
)

// sgemmScratch holds one goroutine's packing buffers, and full, all of
// op(A) packed for the goroutines of one GEMM to share.
type sgemmScratch struct{ a, b, full []float32 }

// freeList keeps a few scratch values for reuse. Unlike a sync.Pool it is
// not emptied by the garbage collector, so the large buffers survive from
// one training step to the next instead of being reallocated.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

// maxFree bounds how many scratch values a free list keeps.
const maxFree = 8

func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.items); n > 0 {
		v := f.items[n-1]
		f.items = f.items[:n-1]
		return v
	}
	return new(T)
}

func (f *freeList[T]) put(v *T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.items) < maxFree {
		f.items = append(f.items, v)
	}
}

var gemmScratch freeList[sgemmScratch]

// floats returns n floats from *buf, growing it (64-byte aligned) if needed.
func (s *sgemmScratch) floats(buf *[]float32, n int) []float32 {
	return grow(buf, n)
}

// grow returns (*buf)[:n], reallocating *buf 64-byte aligned if it is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = alignedFloats(n)
	}
	return (*buf)[:n]
}

// alignedFloats allocates n float32 starting on a 64-byte cache line.
func alignedFloats(n int) []float32 {
	raw := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&raw[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return raw[off : off+n : off+n]
}

// Package memtest measures memory for benchmarks.
package memtest

import (
	"runtime/metrics"
	"sync"
	"time"
)

// SamplePeak records in *peak the largest memory the runtime holds from the
// system (its total less what it has released) until the returned function
// is called, sampled every 10 ms.
func SamplePeak(peak *uint64) (stop func()) {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64()-s[1].Value.Uint64())
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

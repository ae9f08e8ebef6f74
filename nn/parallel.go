package nn

import (
	"runtime"
	"sync"
)

// parallelMin is the smallest element count worth splitting over cores.
const parallelMin = 1 << 15

// parallel calls fn on disjoint ranges covering [0, n), on up to
// GOMAXPROCS goroutines when n is large, and waits for them.
func parallel(n int, fn func(lo, hi int)) { parallelUnits(n, n, fn) }

// parallelUnits calls fn on disjoint ranges covering [0, units), on up to
// GOMAXPROCS goroutines when the work (in elements) is large enough.
func parallelUnits(units, work int, fn func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), work/parallelMin, units)
	if w <= 1 {
		fn(0, units)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*units/w, (i+1)*units/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

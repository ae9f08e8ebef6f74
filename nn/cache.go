package nn

import "sync"

// Cache keeps compiled programs by key, building each on first use. The key
// names everything that changes the graph: the mode and the input shape,
// e.g. fmt.Sprintf("train/%dx%d", batch, samples). Get is safe for
// concurrent use; the Programs it returns are not (one user at a time).
type Cache struct {
	build func(key string) (*Program, error)
	max   int

	mu   sync.Mutex
	m    map[string]*cacheEntry
	tick uint64
}

type cacheEntry struct {
	prog *Program
	used uint64
}

// NewCache returns a cache that builds a missing program with build. With
// max > 0 it keeps at most max programs, closing the least recently used.
func NewCache(max int, build func(key string) (*Program, error)) *Cache {
	return &Cache{build: build, max: max, m: map[string]*cacheEntry{}}
}

// Get returns the program for key, building it if needed. A failed build
// is not cached.
func (c *Cache) Get(key string) (*Program, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if e, ok := c.m[key]; ok {
		e.used = c.tick
		return e.prog, nil
	}
	p, err := c.build(key)
	if err != nil {
		return nil, err
	}
	if c.max > 0 && len(c.m) >= c.max {
		var oldest string
		var t uint64 = ^uint64(0)
		for k, e := range c.m {
			if e.used < t {
				oldest, t = k, e.used
			}
		}
		c.m[oldest].prog.Close()
		delete(c.m, oldest)
	}
	c.m[key] = &cacheEntry{prog: p, used: c.tick}
	return p, nil
}

// Len is the number of cached programs.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Clear closes and drops every program (after a change that invalidates
// them, such as unfreezing parameters).
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		e.prog.Close()
		delete(c.m, k)
	}
}

package nn

// Cache keeps compiled programs, or values that hold them, by key: the
// mode and input shape that fix a graph. It builds each on first use and,
// beyond its size, closes the least recently used. It is not safe for
// concurrent use: each goroutine keeps its own.
type Cache[K comparable, V interface{ Close() error }] struct {
	max  int
	m    map[K]*cacheEntry[V]
	tick uint64
}

type cacheEntry[V any] struct {
	v    V
	used uint64
}

// NewCache returns a cache of at most max values (max > 0).
func NewCache[K comparable, V interface{ Close() error }](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, m: map[K]*cacheEntry[V]{}}
}

// Get returns the value for key, made by build if it is not cached. A
// failed build is not cached.
func (c *Cache[K, V]) Get(key K, build func() (V, error)) (V, error) {
	c.tick++
	if e, ok := c.m[key]; ok {
		e.used = c.tick
		return e.v, nil
	}
	v, err := build()
	if err != nil {
		return v, err
	}
	if len(c.m) >= c.max {
		var oldest K
		t := ^uint64(0)
		for k, e := range c.m {
			if e.used < t {
				oldest, t = k, e.used
			}
		}
		c.m[oldest].v.Close()
		delete(c.m, oldest)
	}
	c.m[key] = &cacheEntry[V]{v: v, used: c.tick}
	return v, nil
}

// Len is the number of cached values.
func (c *Cache[K, V]) Len() int { return len(c.m) }

// Clear closes and drops every value (after a change that invalidates
// them, such as unfreezing parameters).
func (c *Cache[K, V]) Clear() {
	for k, e := range c.m {
		e.v.Close()
		delete(c.m, k)
	}
}

// Keys returns the keys of the cached values, in no particular order.
func (c *Cache[K, V]) Keys() []K {
	keys := make([]K, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	return keys
}

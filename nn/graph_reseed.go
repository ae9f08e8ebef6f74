package nn

// Reseed restarts the graph's random numbers (dropout masks) from seed, so
// that the next run draws the same masks as any graph of the same shape
// reseeded with the same value. A trainer that reseeds before each step
// from (run seed, step) gets dropout masks that do not depend on how many
// runs a program has had: a resumed run draws what an uninterrupted one
// would have drawn.
func (g *Graph) Reseed(seed uint64) {
	g.Seed = seed
	g.rng = nil
}

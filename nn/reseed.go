package nn

import "math/rand/v2"

// Reseed makes the program's next runs draw their random numbers (the
// dropout masks) from a fresh generator seeded with seed, as a graph built
// with Graph.Seed = seed would. A trainer that reseeds before every step
// from (run seed, step) draws the same masks whether or not the run was
// stopped and resumed in between.
func (p *Program) Reseed(seed uint64) {
	p.g.Seed = seed
	p.g.rng = rand.New(rand.NewPCG(seed, 0x5eed_d20b))
}

// Package seed derives independent random seeds from a seed and a place
// (an epoch, a batch position), so that any batch's random draws can be
// recreated without replaying the ones before it.
package seed

// Mix folds each of vs into z with one splitmix64 step (Steele, Lea and
// Flood 2014; Vigna's constants): z += v*golden + increment, then the
// splitmix64 finaliser. Nearby inputs give unrelated outputs.
func Mix(z uint64, vs ...uint64) uint64 {
	for _, v := range vs {
		z += v*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
	}
	return z
}

package quantizer

import (
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
)

// FillNoisePart is FillNoise for a process that runs rows first to
// first+B-1 of a batch split over several processes (B is o's batch): it
// draws from rng what FillNoise would for the whole batch up to the end
// of these rows, and keeps these rows' noise.
func (q *Quantizer) FillNoisePart(p *nn.Program, o Out, rng *rand.Rand, first int) {
	if o.Noise == nil {
		return
	}
	per := o.Noise.Size() / o.Noise.Shape()[0]
	for range first * per {
		gumbel(rng) // the earlier rows' draws, whatever one costs
	}
	q.FillNoise(p, o, rng)
}

// SetReduce sets the function through which the diversity loss of o's
// graph passes its sums (nn.Diversity.SetReduce); nil removes it. It does
// nothing when Diversity was not built for o.
func (q *Quantizer) SetReduce(o Out, f func(sums []float64)) {
	if o.st.div != nil {
		o.st.div.SetReduce(f)
	}
}

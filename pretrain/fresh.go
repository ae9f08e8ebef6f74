package pretrain

import (
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
)

// Fresh returns a model of m's config with freshly initialised weights,
// drawn exactly as NewTrainer(m.Config, seed) draws them: with the seed of
// the pretraining run it is that run's starting point.
func (m *Model) Fresh(seed uint64) (*Model, error) {
	return New(m.Config, rand.New(rand.NewPCG(seed, 0x9a7e)))
}

// LoadModelStep is LoadModel that also returns the number of updates the
// checkpoint had done (its step metadata; -1 when it has none).
func LoadModelStep(path string) (*Model, int, error) {
	c, err := nn.LoadCheckpoint(path)
	if err != nil {
		return nil, 0, err
	}
	m, err := modelFromCheckpoint(c, false)
	if err != nil {
		return nil, 0, err
	}
	step, err := checkpointStep(c)
	if err != nil {
		return nil, 0, err
	}
	return m, step, nil
}

// checkpointStep returns the number of updates a checkpoint had done (its
// step metadata), -1 when it does not say.
func checkpointStep(c *nn.Checkpoint) (int, error) {
	step := -1
	if _, ok := c.Meta[nn.MetaStep]; ok {
		if err := c.MetaJSON(nn.MetaStep, &step); err != nil {
			return 0, err
		}
	}
	return step, nil
}

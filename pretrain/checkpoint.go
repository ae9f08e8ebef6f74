package pretrain

import (
	"fmt"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
)

// Kind is the checkpoint kind pretraining writes.
const Kind = "pretrain"

// trainState is the "train_state" metadata: what a resumed run needs
// besides the weights and the optimiser state.
type trainState struct {
	Seed           uint64 `json:"seed"`
	Epoch          int    `json:"epoch"`    // of the next batch
	Position       int    `json:"position"` // of the next batch in the epoch's plan
	SkippedUpdates int64  `json:"skipped_updates"`
	SkippedUtts    int64  `json:"skipped_files"`
	// The manifest rows counted in SkippedUtts, so that a resumed run
	// counts each once; absent in older checkpoints.
	SkippedRows      []int   `json:"skipped_rows,omitempty"`
	SkippedValidRows []int   `json:"skipped_valid_rows,omitempty"`
	Temperature      float64 `json:"temperature"` // of the next update, for readers
	// The teacher targets: tau of the next update (for readers), and the
	// targets' variance at the run's first update, the collapse guard's
	// reference.
	EMADecay       float64 `json:"ema_decay,omitempty"`
	TargetVarFirst float64 `json:"target_var_first,omitempty"`
}

// checkpoint returns what SaveCheckpoint writes for the trainer: the
// parameters, the optimiser moments, and the metadata (kind, config, step,
// train_state, optimiser steps).
func (t *Trainer) checkpoint() ([]*nn.Param, map[string][]float32, map[string]string, error) {
	extra := map[string][]float32{}
	meta := map[string]string{nn.MetaKind: Kind}
	if err := t.opt.SaveTo(extra, meta); err != nil {
		return nil, nil, nil, err
	}
	if cl := t.Model.clusters; cl != nil {
		for name, v := range cl.tensors() {
			extra[name] = v
		}
	}
	if tc := t.Model.teacher; tc != nil {
		for name, v := range tc.tensors() {
			extra[name] = v
		}
	}
	st := trainState{
		Seed: t.Seed, Epoch: t.Epoch, Position: t.Position,
		SkippedUpdates: t.SkippedUpdates, SkippedUtts: t.SkippedUtts,
		SkippedRows: t.skipped[0], SkippedValidRows: t.skipped[1],
		Temperature:    t.Model.Quantizer.Temperature(int64(t.Step)),
		TargetVarFirst: t.targetVarFirst,
	}
	if t.Model.teacher != nil {
		st.EMADecay = emaDecay(t.Model.Config.Pretrain, t.Step)
	}
	for _, kv := range []struct {
		k string
		v any
	}{{nn.MetaConfig, t.Model.Config}, {nn.MetaStep, t.Step}, {nn.MetaTrainState, st}} {
		if err := nn.PutMetaJSON(meta, kv.k, kv.v); err != nil {
			return nil, nil, nil, err
		}
	}
	return t.Model.Params(), extra, meta, nil
}

// Save writes the trainer's checkpoint to path (atomically).
func (t *Trainer) Save(path string) error {
	params, extra, meta, err := t.checkpoint()
	if err != nil {
		return err
	}
	return nn.SaveCheckpoint(path, params, extra, meta)
}

// modelFromCheckpoint builds the model a pretraining checkpoint describes
// and loads its weights, and, with targets, the k-means of its cluster
// targets or the EMA teacher of its teacher targets (which training needs
// and inference does not).
func modelFromCheckpoint(c *nn.Checkpoint, targets bool) (*Model, error) {
	if kind := c.Meta[nn.MetaKind]; kind != Kind {
		return nil, fmt.Errorf("pretrain: %s: checkpoint kind %q, want %q", c.Path, kind, Kind)
	}
	raw, ok := c.Meta[nn.MetaConfig]
	if !ok {
		return nil, fmt.Errorf("pretrain: %s: no %q metadata", c.Path, nn.MetaConfig)
	}
	cfg, err := ParseConfig([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("pretrain: %s: config: %w", c.Path, err)
	}
	// The config is checked against the tensors before New allocates what
	// it describes: a doctored config must not make a model the size of
	// its claims.
	if err := c.CheckShapes(cfg.ParamShapes(), ownPrefixes...); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	m, err := New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("pretrain: %s: %w", c.Path, err)
	}
	if err := c.LoadInto(m.Params(), true); err != nil {
		return nil, err
	}
	if targets && m.clusterTargets() {
		feats, D, err := m.featurizer()
		if err != nil {
			return nil, fmt.Errorf("pretrain: %s: %w", c.Path, err)
		}
		get := func(name string) ([]float32, bool) { t, ok := c.Tensors[name]; return t.Data, ok }
		if m.clusters, err = clustersFromTensors(get, cfg.Pretrain.Clusters, D); err != nil {
			return nil, fmt.Errorf("pretrain: %s: %s targets: %w", c.Path, cfg.Pretrain.Targets, err)
		}
		m.clusters.feats = feats
	}
	if targets && m.teacherTargets() {
		if m.teacher, err = newTeacher(m); err != nil {
			return nil, fmt.Errorf("pretrain: %s: %w", c.Path, err)
		}
		get := func(name string) ([]float32, bool) { t, ok := c.Tensors[name]; return t.Data, ok }
		if err := m.teacher.load(get); err != nil {
			return nil, fmt.Errorf("pretrain: %s: the teacher of the teacher targets: %w", c.Path, err)
		}
	}
	return m, nil
}

// LoadModel reads the model of a pretraining checkpoint for inference
// (Extract, a teacher): without the k-means of its cluster targets.
func LoadModel(path string) (*Model, error) {
	c, err := nn.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return ModelFromCheckpoint(c)
}

// ModelFromCheckpoint is LoadModel of a checkpoint already read.
func ModelFromCheckpoint(c *nn.Checkpoint) (*Model, error) { return modelFromCheckpoint(c, false) }

// LoadTrainer restores a trainer from a checkpoint that Save wrote: the
// weights, the optimiser state, the step, the data position and the seed,
// so that training continues exactly as if it had not stopped.
func LoadTrainer(path string) (*Trainer, error) {
	c, err := nn.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	m, err := modelFromCheckpoint(c, true)
	if err != nil {
		return nil, err
	}
	var st trainState
	if err := c.MetaJSON(nn.MetaTrainState, &st); err != nil {
		return nil, err
	}
	var step int
	if err := c.MetaJSON(nn.MetaStep, &step); err != nil {
		return nil, err
	}
	t, err := newTrainer(m, st.Seed)
	if err != nil {
		return nil, err
	}
	if err := t.opt.LoadFrom(c); err != nil {
		return nil, err
	}
	t.Step, t.Epoch, t.Position = step, st.Epoch, st.Position
	t.SkippedUpdates, t.SkippedUtts = st.SkippedUpdates, st.SkippedUtts
	t.skipped = [2][]int{st.SkippedRows, st.SkippedValidRows}
	t.targetVarFirst = st.TargetVarFirst
	return t, nil
}

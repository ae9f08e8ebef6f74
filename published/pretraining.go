package published

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wav2vec-go/wav2vec/encoder"
	"github.com/wav2vec-go/wav2vec/nn"
	"github.com/wav2vec-go/wav2vec/quantizer"
)

// Pretraining holds what a wav2vec 2.0 pretraining checkpoint has beyond
// the body: the Gumbel-softmax quantizer and the two projections that the
// contrastive loss compares. The parameters are named as the toolkit's
// pretraining names them (pretrain.Model).
type Pretraining struct {
	Groups      int       // G codebooks
	WeightProjW *nn.Param // quantizer.weight_proj.weight [G*V, C]: the logits of the codes
	WeightProjB *nn.Param // quantizer.weight_proj.bias [G*V]
	Codevectors *nn.Param // quantizer.codevectors [G*V, codevector_dim/G] (fairseq's quantizer.vars)
	ProjectQW   *nn.Param // pretrain.project_q.weight [F, codevector_dim]
	ProjectQB   *nn.Param // pretrain.project_q.bias [F]
	FinalProjW  *nn.Param // pretrain.final_proj.weight [F, hidden] (Hugging Face's project_hid)
	FinalProjB  *nn.Param // pretrain.final_proj.bias [F]
	// What the file's settings say, 0 where they say nothing: distractors
	// per masked frame, the logit temperature kappa, and the floor of the
	// Gumbel temperature (where a finished run left it).
	Negatives int
	LogitTemp float64
	TempEnd   float64
}

// Params returns the parameters, the quantizer's first.
func (p *Pretraining) Params() []*nn.Param {
	return []*nn.Param{p.WeightProjW, p.WeightProjB, p.Codevectors, p.ProjectQW, p.ProjectQB, p.FinalProjW, p.FinalProjB}
}

// Codes returns V, the codes in each codebook.
func (p *Pretraining) Codes() int { return p.Codevectors.Shape[0] / p.Groups }

// pretrainingNames maps the files' names of the pretraining modules
// (Hugging Face's Wav2Vec2ForPreTraining and fairseq's) to the toolkit's.
var pretrainingNames = map[string]string{
	"quantizer.codevectors":        "quantizer.codevectors",
	"quantizer.vars":               "quantizer.codevectors",
	"quantizer.weight_proj.weight": "quantizer.weight_proj.weight",
	"quantizer.weight_proj.bias":   "quantizer.weight_proj.bias",
	"project_q.weight":             "pretrain.project_q.weight",
	"project_q.bias":               "pretrain.project_q.bias",
	"project_hid.weight":           "pretrain.final_proj.weight",
	"project_hid.bias":             "pretrain.final_proj.bias",
	"final_proj.weight":            "pretrain.final_proj.weight",
	"final_proj.bias":              "pretrain.final_proj.bias",
}

// maxFinalDim bounds the projections' width (256 in BASE, 768 in LARGE).
const maxFinalDim = 8192

// readPretraining reads the pretraining modules of a model of config tc
// with G codebooks from ck, whose tensors are named as the toolkit names
// them and may lack values until load reads them. The shapes are checked
// against each other and the body before a value is read.
func readPretraining(ck *nn.Checkpoint, tc encoder.TransformerConfig, G int, load func(name string) ([]float32, error)) (*Pretraining, error) {
	var missing []string
	for _, name := range []string{"quantizer.codevectors", "quantizer.weight_proj.weight", "quantizer.weight_proj.bias",
		"pretrain.project_q.weight", "pretrain.project_q.bias", "pretrain.final_proj.weight", "pretrain.final_proj.bias"} {
		if _, ok := ck.Tensors[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("published: %s: a quantizer without %s (named as the toolkit names them)", ck.Path, strings.Join(missing, ", "))
	}
	cv, pq := ck.Tensors["quantizer.codevectors"].Shape, ck.Tensors["pretrain.project_q.weight"].Shape
	if len(cv) != 3 || cv[0] != 1 || len(pq) != 2 {
		return nil, fmt.Errorf("published: %s: codevectors of shape %v and project_q of shape %v: want [1, G*V, d] and [final_dim, G*d]", ck.Path, cv, pq)
	}
	GV, d, F := cv[1], cv[2], pq[0]
	if G < 1 || GV%G != 0 || F < 1 || F > maxFinalDim {
		return nil, fmt.Errorf("published: %s: %d codevectors in %d groups, final_dim %d", ck.Path, GV, G, F)
	}
	qc := quantizer.Config{Groups: G, Codes: GV / G, Dim: G * d, TempStart: 2, TempEnd: 0.5, TempDecay: 1}
	if err := qc.Validate(); err != nil {
		return nil, fmt.Errorf("published: %s: %w", ck.Path, err)
	}
	gv := nn.Dim{Size: GV, Field: "num_codevector_groups*num_codevectors_per_group"}
	fd := nn.Dim{Size: F, Field: "proj_codevector_dim"}
	want := []nn.ParamShape{
		{Name: "quantizer.codevectors", Dims: []nn.Dim{{Size: 1}, gv, {Size: d, Field: "codevector_dim/num_codevector_groups"}}},
		{Name: "quantizer.weight_proj.weight", Dims: []nn.Dim{gv, {Size: tc.ConvDims[len(tc.ConvDims)-1], Field: "conv_dim[-1]"}}},
		{Name: "quantizer.weight_proj.bias", Dims: []nn.Dim{gv}},
		{Name: "pretrain.project_q.weight", Dims: []nn.Dim{fd, {Size: G * d, Field: "codevector_dim"}}},
		{Name: "pretrain.project_q.bias", Dims: []nn.Dim{fd}},
		{Name: "pretrain.final_proj.weight", Dims: []nn.Dim{fd, {Size: tc.Dim, Field: "hidden_size"}}},
		{Name: "pretrain.final_proj.bias", Dims: []nn.Dim{fd}},
	}
	sub := &nn.Checkpoint{Path: ck.Path, Tensors: map[string]nn.SavedTensor{}}
	for _, w := range want {
		sub.Tensors[w.Name] = ck.Tensors[w.Name]
	}
	if err := sub.CheckShapes(want); err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	ps := make([]*nn.Param, len(want))
	for i, w := range want {
		data, err := load(w.Name)
		if err != nil {
			return nil, err
		}
		shape := ck.Tensors[w.Name].Shape
		if i == 0 {
			shape = []int{GV, d} // the codevectors without their leading 1
		}
		ps[i] = &nn.Param{Name: w.Name, Shape: shape, Data: data}
	}
	return &Pretraining{Groups: G, Codevectors: ps[0], WeightProjW: ps[1], WeightProjB: ps[2],
		ProjectQW: ps[3], ProjectQB: ps[4], FinalProjW: ps[5], FinalProjB: ps[6]}, nil
}

// splitPretraining moves the pretraining modules' tensors of ck (named as
// the file names them) into a checkpoint of their own, named as the
// toolkit names them; it returns nil when ck has no quantizer.
func splitPretraining(ck *nn.Checkpoint) *nn.Checkpoint {
	if _, ok := ck.Tensors["quantizer.codevectors"]; !ok {
		if _, ok := ck.Tensors["quantizer.vars"]; !ok {
			return nil
		}
	}
	out := &nn.Checkpoint{Path: ck.Path, Tensors: map[string]nn.SavedTensor{}}
	names := make([]string, 0, len(pretrainingNames))
	for name := range pretrainingNames {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if t, ok := ck.Tensors[name]; ok {
			out.Tensors[pretrainingNames[name]] = t
			delete(ck.Tensors, name)
		}
	}
	return out
}

// loaded returns a load function over tensors whose values were read.
func loaded(ck *nn.Checkpoint) func(name string) ([]float32, error) {
	return func(name string) ([]float32, error) {
		t := ck.Tensors[name]
		if len(t.Data) == 0 {
			return nil, fmt.Errorf("published: %s: tensor %s has no float32 values (dtype %s)", ck.Path, name, t.DType)
		}
		return t.Data, nil
	}
}

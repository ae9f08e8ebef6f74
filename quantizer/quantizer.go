package quantizer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wav2vec-go/wav2vec/nn"
)

// Config is the quantizer's shape and temperature schedule. A zero field
// takes Base()'s value.
type Config struct {
	Groups    int     `json:"groups"`     // G codebooks (2)
	Codes     int     `json:"codes"`      // V codes in each (320)
	Dim       int     `json:"dim"`        // output channels, a multiple of Groups: each code is Dim/G wide (256)
	TempStart float64 `json:"temp_start"` // temperature at step 0 (2)
	TempEnd   float64 `json:"temp_end"`   // floor of the temperature (0.5)
	TempDecay float64 `json:"temp_decay"` // factor per step (0.999995)
}

// Base returns wav2vec 2.0's settings: G=2, V=320, Dim=256, temperature
// max(2 * 0.999995^step, 0.5).
func Base() Config {
	return Config{Groups: 2, Codes: 320, Dim: 256, TempStart: 2, TempEnd: 0.5, TempDecay: 0.999995}
}

// Tiny returns the CPU-sized settings: G=2, V=64, Dim=128, and a faster
// anneal, max(2 * 0.9995^step, 0.5), which reaches 0.5 after about 2,800
// steps instead of 277,000.
func Tiny() Config {
	return Config{Groups: 2, Codes: 64, Dim: 128, TempStart: 2, TempEnd: 0.5, TempDecay: 0.9995}
}

// WithDefaults returns c with its zero fields taken from Base().
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	b := Base()
	for _, f := range []struct{ v, d *int }{{&c.Groups, &b.Groups}, {&c.Codes, &b.Codes}, {&c.Dim, &b.Dim}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *float64 }{{&c.TempStart, &b.TempStart}, {&c.TempEnd, &b.TempEnd}, {&c.TempDecay, &b.TempDecay}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return c
}

// Limits of Validate, far beyond wav2vec 2.0's G=2, V=320, Dim=768: they
// refuse the absurd values of a damaged or doctored checkpoint's config
// before anything is allocated. Pretraining with cluster targets saves no
// quantizer tensors, so no shape check bounds what New allocates there:
// the limits on G*V and V*Dim do.
const (
	maxGroups    = 64
	maxCodes     = 1 << 16 // V
	maxDim       = 8192
	maxLogits    = 1 << 16 // G*V
	maxCodebooks = 1 << 24 // G*V*Dim/G, the codebooks' values
)

// Validate returns every problem of the configuration at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("quantizer: "+format, args...)) }
	sizesOK := true
	if c.Groups < 0 || c.Groups > maxGroups {
		bad("groups %d: want 1 to %d", c.Groups, maxGroups)
		sizesOK = false
	}
	if c.Codes < 0 || c.Codes == 1 || c.Codes > maxCodes {
		bad("codes %d: want 2 to %d", c.Codes, maxCodes)
		sizesOK = false
	}
	if c.Dim < 0 || c.Dim > maxDim || (c.Groups > 0 && c.Dim%c.Groups != 0) {
		bad("dim %d: want a positive multiple of groups %d, at most %d", c.Dim, c.Groups, maxDim)
		sizesOK = false
	}
	if sizesOK && (c.Groups*c.Codes > maxLogits || c.Codes*c.Dim > maxCodebooks) {
		bad("groups %d, codes %d, dim %d: %d logits and %d codebook values, beyond the limits %d and %d",
			c.Groups, c.Codes, c.Dim, c.Groups*c.Codes, c.Codes*c.Dim, maxLogits, maxCodebooks)
	}
	finitePos := func(x float64) bool { return x > 0 && !math.IsInf(x, 0) }
	if !finitePos(c.TempStart) || !finitePos(c.TempEnd) || c.TempEnd > c.TempStart {
		bad("temperatures start %g, end %g: want 0 < end <= start", c.TempStart, c.TempEnd)
	}
	if !(c.TempDecay > 0 && c.TempDecay <= 1) {
		bad("temp_decay %g: want 0 < decay <= 1", c.TempDecay)
	}
	return errors.Join(errs...)
}

// ParamShapes returns the parameters New(c, in.Size, rng) makes, in the
// same order, without allocating them: names and shapes, each dimension
// with the config field it comes from (in's field for the input). c must
// be valid.
func (c Config) ParamShapes(in nn.Dim) []nn.ParamShape {
	c = c.withDefaults()
	gv := nn.Dim{Size: c.Groups * c.Codes, Field: "quantizer.groups*quantizer.codes"}
	return []nn.ParamShape{
		{Name: "quantizer.weight_proj.weight", Dims: []nn.Dim{gv, in}},
		{Name: "quantizer.weight_proj.bias", Dims: []nn.Dim{gv}},
		{Name: "quantizer.codevectors", Dims: []nn.Dim{gv, {Size: c.Dim / c.Groups, Field: "quantizer.dim/quantizer.groups"}}},
	}
}

// Quantizer holds the parameters: the logits layer and the codebooks.
type Quantizer struct {
	Config      Config     // with its defaults filled in
	InDim       int        // channels of z
	Proj        *nn.Linear // quantizer.weight_proj: z -> logits, N(0, 1) weights and zero bias as fairseq
	Codevectors *nn.Param  // quantizer.codevectors [G*V, Dim/G], U(0, 1) as fairseq

	params nn.Params
}

// New returns a quantizer for inputs of inDim channels with parameters
// drawn from rng (not nil).
func New(cfg Config, inDim int, rng *rand.Rand) (*Quantizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if inDim <= 0 {
		return nil, fmt.Errorf("quantizer: input of %d channels: want positive", inDim)
	}
	if rng == nil {
		return nil, errors.New("quantizer: New: nil random generator")
	}
	cfg = cfg.withDefaults()
	q := &Quantizer{Config: cfg, InDim: inDim}
	gv := cfg.Groups * cfg.Codes
	var err error
	q.Proj, err = nn.NewLinear(&q.params, "quantizer.weight_proj", inDim, gv, false, rng)
	if err != nil {
		return nil, fmt.Errorf("quantizer: %w", err)
	}
	for i := range q.Proj.Weight.Data {
		q.Proj.Weight.Data[i] = float32(rng.NormFloat64())
	}
	clear(q.Proj.Bias.Data)
	q.Codevectors = q.params.New("quantizer.codevectors", gv, cfg.Dim/cfg.Groups)
	for i := range q.Codevectors.Data {
		q.Codevectors.Data[i] = float32(rng.Float64())
	}
	return q, nil
}

// Params returns the parameters. The slice belongs to the quantizer.
func (q *Quantizer) Params() []*nn.Param { return q.params.List() }

// Temperature returns the temperature at an optimiser step:
// max(TempStart * TempDecay^step, TempEnd).
func (q *Quantizer) Temperature(step int64) float64 {
	c := q.Config
	return math.Max(c.TempStart*math.Pow(c.TempDecay, float64(step)), c.TempEnd)
}

// Out is the result of Forward: Q [B, Dim, T], Logits [B, G*V, T] and, in
// training, the Noise input [B, G*V, T] (nil at inference).
type Out struct {
	Q, Logits *nn.Node
	Noise     *nn.Node
	st        *state
}

// state is what the methods on an Out share.
type state struct {
	gumbel *nn.Gumbel
	div    *nn.Diversity
	noise  []float32
}

// NoiseInput is the name of the Gumbel noise input of a training graph.
const NoiseInput = "quantizer.noise"

// Forward maps z [B, InDim, T] to q [B, Dim, T]. With train set it is the
// hard Gumbel-softmax with straight-through gradients: fill Out.Noise with
// FillNoise and set the temperature with SetTemperature (it starts at
// TempStart) before each run. Without train it takes the argmax of the
// logits and passes no gradient to them.
func (q *Quantizer) Forward(g *nn.Graph, z *nn.Node, train bool) Out {
	o := Out{st: &state{}}
	o.Logits = q.Proj.Forward(g, z)
	if train {
		if s := o.Logits.Shape(); s != nil {
			o.Noise = g.Input(NoiseInput, s...)
		}
	}
	o.Q, o.st.gumbel = g.GumbelQuantize(o.Logits, o.Noise, g.Param(q.Codevectors), q.Config.Groups)
	if train {
		o.st.gumbel.SetTemperature(q.Config.TempStart)
	}
	return o
}

// FillNoise draws Gumbel(0, 1) noise, -log(-log(u)) with u uniform in
// (0, 1), from rng into the program's noise input. It does nothing for an
// inference Out.
func (q *Quantizer) FillNoise(p *nn.Program, o Out, rng *rand.Rand) {
	if o.Noise == nil {
		return
	}
	if len(o.st.noise) != o.Noise.Size() {
		o.st.noise = make([]float32, o.Noise.Size())
	}
	for i := range o.st.noise {
		o.st.noise[i] = gumbel(rng)
	}
	p.Set(o.Noise, o.st.noise)
}

// gumbel returns one Gumbel(0, 1) sample from rng, -log(-log(u)) with u
// uniform in (0, 1): the one draw of FillNoise and of FillNoisePart's
// skipping, so the two stay in step.
func gumbel(rng *rand.Rand) float32 {
	u := (float64(rng.Uint64()>>11) + 0.5) / (1 << 53)
	return float32(-math.Log(-math.Log(u)))
}

// SetTemperature sets the temperature of o's following runs (usually
// q.Temperature(step)); it must be positive.
func (q *Quantizer) SetTemperature(o Out, t float64) { o.st.gumbel.SetTemperature(t) }

// Diversity returns wav2vec 2.0's diversity loss, a scalar:
// (G*V - sum over groups of the perplexity of the mean softmax of the
// logits (without noise) over the weighted frames) / (G*V). weights
// [B, 1, T] weigh the frames (wav2vec 2.0 uses the masked frames; 0 leaves
// padding out); nil weighs every frame 1. Building it also makes Perplexity
// count the same frames.
func (q *Quantizer) Diversity(g *nn.Graph, o Out, weights *nn.Node) *nn.Node {
	loss, h := g.CodebookDiversity(o.Logits, weights, q.Config.Groups)
	o.st.div = h
	return loss
}

// Perplexity returns the codebook perplexity of p's last run: the sum over
// groups of exp(entropy) of the batch-mean hard code usage, the argmax of
// the logits without noise (fairseq's code_perplexity). It counts the
// frames weighted as in Diversity if that was built for o, else every
// frame. It ranges from G (collapse: one code per group) to G*V (every
// code used equally). p must be the program compiled from o's graph.
func (q *Quantizer) Perplexity(p *nn.Program, o Out) float64 {
	if p.Graph() != o.Logits.Graph() {
		panic("quantizer: Perplexity: the program is not compiled from this Out's graph")
	}
	if o.st.div != nil {
		return o.st.div.CodePerplexity()
	}
	return o.st.gumbel.CodePerplexity()
}

// ProbPerplexity returns the perplexity of the weighted batch-mean softmax
// of the last run (fairseq's prob_perplexity, the quantity the diversity
// loss raises), or NaN if Diversity was not built for o.
func (q *Quantizer) ProbPerplexity(o Out) float64 {
	if o.st.div == nil {
		return math.NaN()
	}
	return o.st.div.ProbPerplexity()
}

// Codes returns the codes chosen by the last run, [B, G, T] row-major. The
// slice belongs to the graph and changes with the next run.
func (q *Quantizer) Codes(o Out) []int32 { return o.st.gumbel.Codes() }

package pretrain

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/nn"
)

// TestDecoderForward checks the decoder and the head on random context
// vectors against a brute-force computation: grouped centred convolutions,
// layer norms, GELU, the residual of the blocks that keep the width, and
// the linear head.
func TestDecoderForward(t *testing.T) {
	cfg := quickDecoderConfig()
	cfg.Pretrain.DecoderLayers = 3
	m, err := New(cfg, rand.New(rand.NewPCG(2, 3)))
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.Pretrain
	rng := rand.New(rand.NewPCG(4, 5))
	for _, n := range m.decoder.norms { // gains and biases away from 1 and 0
		for i := range n.Gamma.Data {
			n.Gamma.Data[i] = float32(1 + 0.3*rng.NormFloat64())
			n.Beta.Data[i] = float32(0.3 * rng.NormFloat64())
		}
	}
	const B, T = 2, 9
	D := m.Dim()
	c := make([]float32, B*D*T)
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	g := nn.NewGraph()
	in := g.Input("c", B, D, T)
	out := m.Head.Forward(g, m.decoder.forward(g, in))
	prog, err := g.Compile(nil, out)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	prog.Set(in, c)
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	got := prog.Value(out)

	x, C := make([]float64, len(c)), D
	for i, v := range c {
		x[i] = float64(v)
	}
	K, G, O := pc.DecoderKernel, pc.DecoderGroups, pc.DecoderDim
	for l, conv := range m.decoder.convs {
		w, bias := conv.Weight.Data, conv.Bias.Data
		gamma, beta := m.decoder.norms[l].Gamma.Data, m.decoder.norms[l].Beta.Data
		y := make([]float64, B*O*T)
		cin, cout := C/G, O/G
		for b := range B {
			for o := range O {
				grp := o / cout
				for tt := range T {
					s := float64(bias[o])
					for i := range cin {
						for k := range K {
							src := tt + k - K/2
							if src < 0 || src >= T {
								continue
							}
							s += float64(w[(o*cin+i)*K+k]) * x[(b*C+grp*cin+i)*T+src]
						}
					}
					y[(b*O+o)*T+tt] = s
				}
			}
			for tt := range T { // layer norm over channels, then GELU
				var mean, vr float64
				for o := range O {
					mean += y[(b*O+o)*T+tt] / float64(O)
				}
				for o := range O {
					d := y[(b*O+o)*T+tt] - mean
					vr += d * d / float64(O)
				}
				for o := range O {
					v := (y[(b*O+o)*T+tt]-mean)/math.Sqrt(vr+1e-5)*float64(gamma[o]) + float64(beta[o])
					y[(b*O+o)*T+tt] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
				}
			}
		}
		if C == O {
			for i := range y {
				y[i] += x[i]
			}
		}
		x, C = y, O
	}
	hw, hb := m.Head.Weight.Data, m.Head.Bias.Data
	var worst float64
	for b := range B {
		for d := range D {
			for tt := range T {
				s := float64(hb[d])
				for i := range C {
					s += float64(hw[d*C+i]) * x[(b*C+i)*T+tt]
				}
				worst = max(worst, math.Abs(s-float64(got[(b*D+d)*T+tt])))
			}
		}
	}
	t.Logf("largest difference from the brute force: %.2g", worst)
	if worst > 1e-4 {
		t.Errorf("decoder and head differ from the brute force by %g", worst)
	}
}

// TestDecoderGradients checks the gradients of the regression loss with
// respect to the decoder's and the head's weights against central finite
// differences of the same float32 program (targets and masks held).
func TestDecoderGradients(t *testing.T) {
	cfg := quickDecoderConfig()
	cfg.Encoder.Dropout = 0
	tr, tg, _ := preparedTeacherGraph(t, cfg, 2, 8000)
	m := tr.Model
	rng := rand.New(rand.NewPCG(5, 6))
	loss := func() float64 {
		r, err := m.run(tg)
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	loss()
	grads := map[*nn.Param][]float32{} // before the runs below add to them
	for _, p := range m.Params() {
		grads[p] = append([]float32(nil), p.Grad...)
	}
	checked, worst := 0, 0.0
	for _, p := range m.Params() {
		if !strings.HasPrefix(p.Name, "pretrain.") {
			continue
		}
		an := grads[p]
		scale := 0.0
		for _, v := range an {
			scale = max(scale, math.Abs(float64(v)))
		}
		for range 6 {
			i := rng.IntN(len(p.Data))
			w := p.Data[i]
			const h = 1e-2
			p.Data[i] = w + h
			up := loss()
			p.Data[i] = w - h
			down := loss()
			p.Data[i] = w
			fd := (up - down) / (2 * h)
			worst = max(worst, math.Abs(fd-float64(an[i]))/scale)
			if d := math.Abs(fd - float64(an[i])); d > 5e-3*scale+1e-5 {
				t.Errorf("%s[%d]: gradient %g, finite difference %g (largest gradient of the tensor %g)", p.Name, i, an[i], fd, scale)
			}
			checked++
		}
		if !(scale > 0) {
			t.Errorf("%s: no gradient", p.Name)
		}
	}
	t.Logf("largest difference from the finite differences: %.2g of the tensor's largest gradient", worst)
	if checked != 6*(4*cfg.Pretrain.DecoderLayers+2) {
		t.Errorf("checked %d values, want 6 of each of the %d decoder and head tensors", checked, 4*cfg.Pretrain.DecoderLayers+2)
	}
}

// TestDecoderConfig: a decoder is refused for targets other than the
// teacher's, for an even kernel and for groups that do not divide the
// widths, each with a message that names the setting.
func TestDecoderConfig(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(*FullConfig)
		want string
	}{
		"quantizer":   {func(c *FullConfig) { c.Pretrain.Targets = TargetsQuantizer }, "the decoder is for"},
		"even kernel": {func(c *FullConfig) { c.Pretrain.DecoderKernel = 4 }, "decoder_kernel 4"},
		"dim groups":  {func(c *FullConfig) { c.Pretrain.DecoderDim = 26 }, "decoder_dim 26"},
		"body groups": {func(c *FullConfig) { c.Pretrain.DecoderGroups = 3; c.Pretrain.DecoderDim = 24 }, "context network's 32 channels"},
		"layers":      {func(c *FullConfig) { c.Pretrain.DecoderLayers = 99 }, "decoder_layers 99"},
	} {
		cfg := quickDecoderConfig()
		c.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want an error with %q", name, err, c.want)
		}
	}
	if err := quickDecoderConfig().Validate(); err != nil {
		t.Errorf("the quick decoder config: %v", err)
	}
}

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gumbelNoise fills p with Gumbel(0, 1) samples.
func gumbelNoise(rng *rand.Rand, name string, shape ...int) *Param {
	p := NewParam(name, shape...)
	for i := range p.Data {
		p.Data[i] = float32(-math.Log(-math.Log(rng.Float64()*0.998 + 0.001)))
	}
	return p
}

// TestGumbelQuantizeGrad checks the straight-through gradients: the soft
// relaxation's gradients against finite differences; the hard selection's
// codebook gradient against finite differences (the output is linear in the
// codebook); and the hard selection's logits and noise gradients equal to
// the soft relaxation's (hard - soft.detach() + soft).
func TestGumbelQuantizeGrad(t *testing.T) {
	tests := []struct{ B, G, V, D, T int }{{1, 1, 3, 2, 2}, {2, 2, 4, 3, 3}, {2, 3, 2, 1, 4}}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 31))
			logits := randParam(rng, "logits", tc.B, tc.G*tc.V, tc.T)
			noise := gumbelNoise(rng, "noise", tc.B, tc.G*tc.V, tc.T)
			cb := randParam(rng, "codebook", tc.G*tc.V, tc.D)
			build := func(soft bool) func(g *Graph) *Node {
				return func(g *Graph) *Node {
					q, h := g.GumbelQuantize(g.Param(logits), g.Param(noise), g.Param(cb), tc.G)
					h.SetTemperature(0.7)
					h.k.soft = soft
					return q
				}
			}
			checkGrad(t, build(true), logits, noise, cb)
			checkGrad(t, build(false), cb)

			grads := func(soft bool) (dl, dn []float32) {
				g := newGraph64()
				q := build(soft)(g)
				r := g.Param(randParam(rand.New(rand.NewPCG(1, 1)), "r", q.Shape()...))
				p, err := g.Compile(g.Sum(g.Mul(q, r)))
				if err != nil {
					t.Fatal(err)
				}
				logits.ZeroGrad()
				noise.ZeroGrad()
				if err := p.Run(); err != nil {
					t.Fatal(err)
				}
				return append([]float32(nil), logits.Grad...), append([]float32(nil), noise.Grad...)
			}
			hl, hn := grads(false)
			sl, _ := grads(true)
			nonzero := false
			for j := range hl {
				if hl[j] != sl[j] || hn[j] != hl[j] {
					t.Fatalf("logits grad[%d]: hard %g, noise %g, soft %g: want equal", j, hl[j], hn[j], sl[j])
				}
				nonzero = nonzero || hl[j] != 0
			}
			if !nonzero && tc.V > 1 {
				t.Error("straight-through logits gradient is all zero")
			}
		})
	}
}

// TestGumbelQuantizeSelect checks the forward values: the argmax of logits
// + noise in training, of the logits at inference, the codebook rows
// copied per group, and the code perplexity.
func TestGumbelQuantizeSelect(t *testing.T) {
	const B, G, V, D, T = 2, 2, 3, 2, 3
	rng := rand.New(rand.NewPCG(5, 5))
	cb := randParam(rng, "codebook", G*V, D)
	for _, train := range []bool{true, false} {
		g := NewGraph()
		logits := g.Input("logits", B, G*V, T)
		var noise *Node
		if train {
			noise = g.Input("noise", B, G*V, T)
		}
		q, h := g.GumbelQuantize(logits, noise, g.Param(cb), G)
		p, err := g.Compile(nil, q)
		if err != nil {
			t.Fatal(err)
		}
		ls, ns := make([]float32, B*G*V*T), make([]float32, B*G*V*T)
		for i := range ls {
			ls[i], ns[i] = float32(rng.NormFloat64()), float32(3*rng.NormFloat64())
		}
		p.Set(logits, ls)
		if train {
			p.Set(noise, ns)
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		out := p.Value(q)
		counts := make([]float64, G*V)
		for b := range B {
			for gr := range G {
				for tt := range T {
					best, bestN := 0, 0
					at := func(v int) int { return ((b*G+gr)*V+v)*T + tt }
					for v := range V {
						if ls[at(v)] > ls[at(best)] {
							best = v
						}
						if ls[at(v)]+ns[at(v)] > ls[at(bestN)]+ns[at(bestN)] {
							bestN = v
						}
					}
					counts[gr*V+best]++
					want := best
					if train {
						want = bestN
					}
					if got := int(h.Codes()[(b*G+gr)*T+tt]); got != want {
						t.Errorf("train %t: code [%d,%d,%d] = %d, want %d", train, b, gr, tt, got, want)
					}
					for d := range D {
						if o := out[((b*G+gr)*D+d)*T+tt]; o != cb.Data[(gr*V+want)*D+d] {
							t.Errorf("train %t: q[%d,%d,%d] = %g, want codebook row %d", train, b, gr*D+d, tt, o, gr*V+want)
						}
					}
				}
			}
		}
		for i := range counts {
			counts[i] /= B * T
		}
		if got, want := h.CodePerplexity(), perplexity(counts, G, V, 0); math.Abs(got-want) > 1e-12 {
			t.Errorf("code perplexity %g, want %g", got, want)
		}
	}
}

func TestDiversityGrad(t *testing.T) {
	tests := []struct {
		B, G, V, T int
		weights    bool
	}{{1, 1, 3, 2, false}, {2, 2, 4, 3, true}, {3, 2, 3, 2, true}, {2, 3, 2, 3, false}}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 41))
			logits := randParam(rng, "logits", tc.B, tc.G*tc.V, tc.T)
			w := randParam(rng, "weights", tc.B, 1, tc.T)
			for j := range w.Data {
				w.Data[j] = float32(math.Abs(float64(w.Data[j])))
			}
			params := []*Param{logits}
			if tc.weights {
				params = append(params, w)
			}
			checkGrad(t, func(g *Graph) *Node {
				var wn *Node
				if tc.weights {
					wn = g.Param(w)
				}
				d, _ := g.CodebookDiversity(g.Param(logits), wn, tc.G)
				return d
			}, params...)
		})
	}
}

// TestDiversityValues: uniform use of the codes gives loss 0 and perplexity
// G*V; one code per group gives (G*V-G)/(G*V) and perplexity G; frames of
// weight 0 do not count.
func TestDiversityValues(t *testing.T) {
	const G, V = 2, 4
	tests := []struct {
		name     string
		collapse bool
		wantPerp float64
	}{{"uniform", false, G * V}, {"collapsed", true, G}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const B, T = 2, V // frame t of sample 0 picks code t; sample 1 is padding
			g := NewGraph()
			logits := g.Input("logits", B, G*V, T)
			weights := g.Input("w", B, 1, T)
			loss, h := g.CodebookDiversity(logits, weights, G)
			p, err := g.Compile(nil, loss)
			if err != nil {
				t.Fatal(err)
			}
			ls := make([]float32, B*G*V*T)
			ws := make([]float32, B*T)
			for tt := range T {
				ws[tt] = 1
				code := tt
				if tc.collapse {
					code = 0
				}
				for gr := range G {
					ls[(gr*V+code)*T+tt] = 40
					ls[((G+gr)*V+1)*T+tt] = 40 // padding: always code 1
				}
			}
			p.Set(logits, ls)
			p.Set(weights, ws)
			if err := p.Run(); err != nil {
				t.Fatal(err)
			}
			wantLoss := (G*V - tc.wantPerp) / (G * V)
			got := float64(p.Value(loss)[0])
			if math.Abs(got-wantLoss) > 1e-4 {
				t.Errorf("loss %g, want %g", got, wantLoss)
			}
			for _, pp := range []float64{h.ProbPerplexity(), h.CodePerplexity()} {
				if math.Abs(pp-tc.wantPerp) > 1e-4*tc.wantPerp {
					t.Errorf("perplexity %g, want %g", pp, tc.wantPerp)
				}
			}
		})
	}
}

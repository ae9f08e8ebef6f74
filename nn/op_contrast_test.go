package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// contrastCase is a random problem for the contrastive loss.
type contrastCase struct {
	B, D, T, K int
	kappa      float64
	c, q, w    *Param
	idx        []int32
}

func newContrastCase(seed uint64, B, D, T, K int, kappa float64) *contrastCase {
	rng := rand.New(rand.NewPCG(seed, 1))
	cc := &contrastCase{B: B, D: D, T: T, K: K, kappa: kappa}
	cc.c = randParam(rng, "c", B, D, T)
	cc.q = randParam(rng, "q", B, D, T)
	cc.w = NewParam("w", B, 1, T)
	cc.w.Frozen = true
	for i := range cc.w.Data {
		if rng.IntN(3) > 0 {
			cc.w.Data[i] = 1
		}
	}
	cc.w.Data[0] = 1
	cc.idx = make([]int32, B*T*K)
	for i := range cc.idx {
		t := (i / K) % T
		u := rng.IntN(T - 1)
		if u >= t {
			u++
		}
		cc.idx[i] = int32(u)
	}
	return cc
}

// reference computes the loss and accuracy directly from the definition.
func (cc *contrastCase) reference() (loss, acc float64) {
	B, D, T, K := cc.B, cc.D, cc.T, cc.K
	at := func(p *Param, b, t int) []float64 {
		v := make([]float64, D)
		for d := range D {
			v[d] = float64(p.Data[(b*D+d)*T+t])
		}
		return v
	}
	cos := func(x, y []float64) float64 {
		var xy, xx, yy float64
		for i := range x {
			xy += x[i] * y[i]
			xx += x[i] * x[i]
			yy += y[i] * y[i]
		}
		return xy / math.Sqrt(xx) / math.Sqrt(yy)
	}
	var wsum, correct float64
	for b := range B {
		for t := range T {
			w := float64(cc.w.Data[b*T+t])
			if w == 0 {
				continue
			}
			ct, qt := at(cc.c, b, t), at(cc.q, b, t)
			l0 := cos(ct, qt) / cc.kappa
			se := math.Exp(l0)
			best := math.Inf(-1)
			for _, u := range cc.idx[(b*T+t)*K : (b*T+t+1)*K] {
				qu := at(cc.q, b, int(u))
				same := true
				for d := range qu {
					same = same && qu[d] == qt[d]
				}
				if same {
					continue
				}
				l := cos(ct, qu) / cc.kappa
				best = max(best, l)
				se += math.Exp(l)
			}
			loss += w * (math.Log(se) - l0)
			wsum += w
			if l0 > best {
				correct += w
			}
		}
	}
	return loss / wsum, correct / wsum
}

func (cc *contrastCase) build(t *testing.T, g *Graph) (*Node, *Contrastive) {
	t.Helper()
	loss, h := g.ContrastiveLoss(g.Param(cc.c), g.Param(cc.q), g.Param(cc.w), cc.K, cc.kappa)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.SetDistractors(cc.idx); err != nil {
		t.Fatal(err)
	}
	return loss, h
}

func TestContrastiveForward(t *testing.T) {
	for _, tc := range []struct {
		name       string
		B, D, T, K int
		kappa      float64
		dup        bool // make q of frame 1 equal to frame 0's in every utterance
	}{
		{"small", 2, 4, 7, 3, 0.1, false},
		{"one distractor", 1, 3, 5, 1, 1, false},
		{"duplicate targets", 3, 5, 9, 4, 0.5, true},
		{"many frames", 2, 16, 40, 10, 0.1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := newContrastCase(uint64(tc.T), tc.B, tc.D, tc.T, tc.K, tc.kappa)
			if tc.dup {
				for b := range tc.B {
					for d := range tc.D {
						i := (b*tc.D + d) * tc.T
						cc.q.Data[i+1] = cc.q.Data[i]
					}
					for j := range tc.K { // frame 0 sees frame 1 among its distractors
						cc.idx[b*tc.T*tc.K+j] = 1
					}
				}
			}
			g := NewGraph()
			loss, h := cc.build(t, g)
			p, err := g.Compile(nil, loss)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Run(); err != nil {
				t.Fatal(err)
			}
			want, wantAcc := cc.reference()
			got := float64(p.Value(loss)[0])
			if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("loss %g, want %g", got, want)
			}
			acc, w := h.Accuracy()
			if math.Abs(acc-wantAcc) > 1e-9 || w <= 0 {
				t.Errorf("accuracy %g (weight %g), want %g", acc, w, wantAcc)
			}
		})
	}
}

func TestContrastiveGrad(t *testing.T) {
	for _, tc := range []struct {
		B, D, T, K int
		kappa      float64
	}{
		{1, 3, 4, 2, 1},
		{2, 4, 6, 3, 0.5},
		{2, 5, 8, 5, 0.1},
	} {
		cc := newContrastCase(uint64(10*tc.T+tc.K), tc.B, tc.D, tc.T, tc.K, tc.kappa)
		checkGrad(t, func(g *Graph) *Node {
			loss, _ := cc.build(t, g)
			return loss
		}, cc.c, cc.q)
	}
}

func TestContrastiveGradDuplicate(t *testing.T) {
	// A distractor equal to the target gets logit -Inf: no gradient
	// through it. Only c is checked: a finite difference on q would break
	// the equality and jump to the other branch.
	cc := newContrastCase(5, 1, 3, 5, 2, 0.5)
	for d := range 3 {
		cc.q.Data[d*5+2] = cc.q.Data[d*5+0]
	}
	cc.idx[0] = 2
	checkGrad(t, func(g *Graph) *Node {
		loss, _ := cc.build(t, g)
		return loss
	}, cc.c)
}

func TestContrastiveErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c, q, w []int
		K       int
		kappa   float64
	}{
		{"shapes differ", []int{1, 2, 3}, []int{1, 2, 4}, []int{1, 1, 3}, 1, 0.1},
		{"weights shape", []int{1, 2, 3}, []int{1, 2, 3}, []int{1, 2, 3}, 1, 0.1},
		{"no distractors", []int{1, 2, 3}, []int{1, 2, 3}, []int{1, 1, 3}, 0, 0.1},
		{"zero temperature", []int{1, 2, 3}, []int{1, 2, 3}, []int{1, 1, 3}, 1, 0},
		{"2-D", []int{2, 3}, []int{2, 3}, []int{1, 1, 3}, 1, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGraph()
			_, h := g.ContrastiveLoss(g.Input("c", tc.c...), g.Input("q", tc.q...), g.Input("w", tc.w...), tc.K, tc.kappa)
			if g.Err() == nil {
				t.Fatal("no error")
			}
			if err := h.SetDistractors(nil); err == nil {
				t.Error("SetDistractors on a failed node succeeded")
			}
		})
	}
	g := NewGraph()
	_, h := g.ContrastiveLoss(g.Input("c", 1, 2, 3), g.Input("q", 1, 2, 3), g.Input("w", 1, 1, 3), 2, 0.1)
	for _, idx := range [][]int32{{0, 1, 2, 0, 1}, {0, 1, 2, 0, 1, 3}, {0, 1, 2, 0, 1, -1}} {
		if err := h.SetDistractors(idx); err == nil {
			t.Errorf("SetDistractors(%v) accepted", idx)
		}
	}
	if err := h.SetDistractors([]int32{1, 2, 0, 2, 0, 1}); err != nil {
		t.Error(err)
	}
}

func TestContrastiveNoDistractorsIsNaN(t *testing.T) {
	g := NewGraph()
	loss, _ := g.ContrastiveLoss(g.Input("c", 1, 2, 3), g.Input("q", 1, 2, 3), g.Input("w", 1, 1, 3), 2, 0.1)
	p, err := g.Compile(nil, loss)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	if v := p.Value(loss)[0]; !math.IsNaN(float64(v)) {
		t.Errorf("loss %g without distractors, want NaN", v)
	}
}

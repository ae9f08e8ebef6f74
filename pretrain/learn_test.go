package pretrain

import (
	"math"
	"math/rand/v2"
	"testing"
)

// smallConfig is the tiny config cut down so that a learning test fits in
// the default test run: 32 feature channels, 64 context channels, 6
// context layers, no dropout, 32 codes per group, 16 distractors, 1 s
// crops, lr 1e-3 held after a short warm-up, diversity weight 0.5.
func smallConfig() FullConfig {
	c := TinyConfig()
	c.Encoder.ConvDim = 32
	c.Encoder.Dim = 64
	c.Encoder.ContextDilations = []int{1, 2, 4, 8, 1, 2}
	c.Encoder.Dropout = 0
	c.Quantizer.Codes = 32
	c.Quantizer.Dim = 64
	c.Quantizer.TempDecay = 0.99
	c.Pretrain.FinalDim = 64
	c.Pretrain.Negatives = 16
	c.Pretrain.LR = 1e-3
	c.Pretrain.Schedule = "constant"
	c.Pretrain.Warmup = 20
	c.Pretrain.DiversityWeight = 0.5
	c.Pretrain.MaxSteps = 300
	c.Pretrain.CropSeconds = 1
	c.Pretrain.BatchSeconds = 4
	return c
}

// TestLearns trains the small config on generated vowel babble (batches
// of 4 crops of 1 s) and checks that the contrastive loss falls well below
// its chance value log(K+1), that the true target is picked far more often
// than by chance, and that the codebooks have not collapsed.
func TestLearns(t *testing.T) {
	cfg := smallConfig()
	steps := cfg.Pretrain.MaxSteps
	tr, err := NewTrainer(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	K := cfg.Pretrain.Negatives
	chance := math.Log(float64(K + 1))
	const window = 50
	var first, last, ppl, acc float64
	for i := range steps {
		st, err := tr.TrainStep(synthBatch(rng, 4, 16000, 0, i))
		if err != nil {
			t.Fatal(err)
		}
		if st.Skipped {
			t.Fatalf("step %d skipped: %s", i, st.Reason)
		}
		if i < window {
			first += st.Contrastive / window
		}
		if i >= steps-window {
			last += st.Contrastive / window
			ppl += st.Perplexity / window
			acc += st.Accuracy / window
		}
		if i%50 == 0 || i == steps-1 {
			t.Logf("step %3d contrastive %.3f diversity %.3f penalty %.4f perplexity %.1f accuracy %.3f", i+1, st.Contrastive, st.Diversity, st.FeaturePenalty, st.Perplexity, st.Accuracy)
		}
	}
	G, V := cfg.Quantizer.Groups, cfg.Quantizer.Codes
	t.Logf("chance %.3f; mean over the first %d steps %.3f, the last %d: contrastive %.3f, accuracy %.3f (chance %.3f), perplexity %.1f of %d (collapse: %d)",
		chance, window, first, window, last, acc, 1/float64(K+1), ppl, G*V, G)
	if last > chance-0.25 {
		t.Errorf("contrastive loss %.3f over the last %d steps: want at least 0.25 below chance %.3f", last, window, chance)
	}
	if acc < 3/float64(K+1) {
		t.Errorf("accuracy %.3f: want at least three times chance %.3f", acc, 1/float64(K+1))
	}
	if ppl < 4*float64(G) {
		t.Errorf("codebook perplexity %.1f: want at least %d (collapse is %d)", ppl, 4*G, G)
	}
}

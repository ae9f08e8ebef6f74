package pretrain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/wav2vec-go/wav2vec/features"
	"github.com/wav2vec-go/wav2vec/nn"
)

// Targets of the contrastive task.
const (
	// TargetsQuantizer: wav2vec 2.0's learnt Gumbel-softmax codes of z.
	TargetsQuantizer = "quantizer"
	// TargetsMFCC: the k-means cluster of each frame's MFCCs, fixed before
	// training (HuBERT's first-iteration targets, Hsu et al. 2021).
	TargetsMFCC = "mfcc"
	// TargetsContext: the k-means cluster of each frame's context vector c
	// from an earlier pretraining checkpoint, the teacher (HuBERT's later
	// iterations).
	TargetsContext = "c"
	// TargetsTeacher: data2vec's regression targets (Baevski et al. 2022),
	// the average of the instance-normalised top layers of an EMA teacher
	// that sees the unmasked input (teacher.go).
	TargetsTeacher = "teacher"
)

// mfccDim is the width of a clustered frame: 13 MFCCs, their deltas and
// delta-deltas, as HuBERT clusters.
const mfccDim = 39

// Tensor names of the cluster targets in a checkpoint. They are not
// parameters: nothing trains them.
const (
	tensorCentroids = "pretrain.kmeans.centroids" // [K, D]
	tensorFeatMean  = "pretrain.kmeans.mean"      // [D]
	tensorFeatScale = "pretrain.kmeans.inv_std"   // [D]
)

// kmeans assigns every frame of an utterance to the nearest of K
// centroids of its standardised features (D values a frame).
type kmeans struct {
	K, D      int
	Centroids []float32 // [K, D]
	Mean      []float32 // feature means of the fitting sample
	InvStd    []float32 // 1 / their standard deviations
	feats     featurizer
}

// featurizer returns the frames of features of an utterance, [frames, D]
// row-major, one frame every 10 ms.
type featurizer func(samples []float32) ([]float32, int)

// mfccFeaturizer gives MFCCs with deltas and delta-deltas (mfccDim).
func mfccFeaturizer() featurizer {
	ext := newMFCCExtractor()
	return func(s []float32) ([]float32, int) { return mfccFeatures(ext, s) }
}

// contextFeaturizer gives the teacher's context vectors (teacher Dim). It
// keeps the compiled program of the last length it saw: training crops
// share one.
func contextFeaturizer(teacher *Model) featurizer {
	progs := nn.NewCache[int, *layerProgram](1)
	return func(s []float32) ([]float32, int) {
		if teacher.Frames(len(s)) < 1 {
			return nil, 0
		}
		lp, err := progs.Get(len(s), func() (*layerProgram, error) { return teacher.layerProgram(len(s), LayerC) })
		if err != nil {
			return nil, 0
		}
		c, n, _, err := lp.run(s)
		if err != nil {
			return nil, 0
		}
		return c, n
	}
}

func newMFCCExtractor() *features.Extractor {
	ext, err := features.New(features.Config{})
	if err != nil {
		panic(err) // unreachable: the default config is valid
	}
	return ext
}

// mfccFeatures returns the MFCCs of samples with their deltas and
// delta-deltas, [frames, 39] row-major.
func mfccFeatures(ext *features.Extractor, samples []float32) ([]float32, int) {
	c, n := ext.MFCC(samples)
	if n == 0 {
		return nil, 0
	}
	nc := ext.NumCeps()
	d1 := deltas(c, n, nc)
	d2 := deltas(d1, n, nc)
	out := make([]float32, n*3*nc)
	for t := range n {
		row := out[t*3*nc : (t+1)*3*nc]
		copy(row, c[t*nc:(t+1)*nc])
		copy(row[nc:], d1[t*nc:(t+1)*nc])
		copy(row[2*nc:], d2[t*nc:(t+1)*nc])
	}
	return out, n
}

// deltas returns the regression deltas of x [n, d] over a window of two
// frames each side, as Kaldi's add-deltas and HTK compute them:
// (x[t+1] - x[t-1] + 2 (x[t+2] - x[t-2])) / 10, the edge frames repeated.
func deltas(x []float32, n, d int) []float32 {
	out := make([]float32, n*d)
	at := func(t, j int) float64 { return float64(x[min(max(t, 0), n-1)*d+j]) }
	for t := range n {
		for j := range d {
			v := (at(t+1, j) - at(t-1, j)) + 2*(at(t+2, j)-at(t-2, j))
			out[t*d+j] = float32(v / 10)
		}
	}
	return out
}

// standardise applies the clusters' feature standardisation to x in place.
func (cl *kmeans) standardise(x []float32) {
	for i := range x {
		j := i % cl.D
		x[i] = (x[i] - cl.Mean[j]) * cl.InvStd[j]
	}
}

// assign writes the cluster of each of the n standardised rows of x into
// dst.
func (cl *kmeans) assign(x []float32, n int, dst []int32) {
	for t := range n {
		dst[t] = int32(nearest(cl.Centroids, cl.K, x[t*cl.D:(t+1)*cl.D]))
	}
}

// frameTargets returns the cluster of each of the T frames of samples. The
// feature frames and the model's frames share the 10 ms hop; where their
// counts differ (the waveform encoder's receptive field is not the 25 ms
// window), the last feature frame is repeated or the extra ones dropped.
func (cl *kmeans) frameTargets(samples []float32, T int, dst []int32) {
	x, n := cl.feats(samples)
	if n == 0 {
		clear(dst[:T])
		return
	}
	cl.standardise(x)
	ids := make([]int32, n)
	cl.assign(x, n, ids)
	for t := range T {
		dst[t] = ids[min(t, n-1)]
	}
}

// nearest returns the index of the centroid closest to x in squared
// Euclidean distance.
func nearest(centroids []float32, K int, x []float32) int {
	d := len(x)
	best, bestD := 0, math.Inf(1)
	for k := range K {
		c := centroids[k*d : (k+1)*d]
		var s float64
		for j, v := range x {
			e := float64(v - c[j])
			s += e * e
		}
		if s < bestD {
			best, bestD = k, s
		}
	}
	return best
}

// fitClusters standardises the n frames of x [n, D] (in place) and fits K
// centroids to them with k-means++ seeding and iters rounds of Lloyd's
// algorithm. It returns the clusters (without a featurizer) and the mean
// squared distance of the frames to their centroids after each round.
func fitClusters(x []float32, n, D, K, iters int, rng *rand.Rand) (*kmeans, []float64, error) {
	if n < K {
		return nil, nil, fmt.Errorf("pretrain: k-means: %d frames for %d clusters", n, K)
	}
	cl := &kmeans{K: K, D: D, Mean: make([]float32, D), InvStd: make([]float32, D)}
	for j := range D {
		var s, ss float64
		for t := range n {
			v := float64(x[t*D+j])
			s += v
			ss += v * v
		}
		mean := s / float64(n)
		sd := math.Sqrt(max(ss/float64(n)-mean*mean, 0))
		if !(sd > 1e-6) {
			return nil, nil, errors.New("pretrain: k-means: a feature is constant over the sample (silent audio?)")
		}
		cl.Mean[j], cl.InvStd[j] = float32(mean), float32(1/sd)
	}
	cl.standardise(x[:n*D])
	cl.Centroids = seedCentroids(x, n, D, K, rng)
	ids := make([]int32, n)
	var curve []float64
	for range iters {
		cl.assign(x, n, ids)
		sums := make([]float64, K*D)
		counts := make([]int, K)
		var inertia float64
		for t, k := range ids {
			row := x[t*D : (t+1)*D]
			c := cl.Centroids[int(k)*D:]
			for j, v := range row {
				sums[int(k)*D+j] += float64(v)
				e := float64(v - c[j])
				inertia += e * e
			}
			counts[k]++
		}
		curve = append(curve, inertia/float64(n))
		for k := range K {
			c := cl.Centroids[k*D : (k+1)*D]
			if counts[k] == 0 {
				// An empty cluster restarts on a random frame.
				copy(c, x[rng.IntN(n)*D:])
				continue
			}
			for j := range c {
				c[j] = float32(sums[k*D+j] / float64(counts[k]))
			}
		}
	}
	return cl, curve, nil
}

// seedCentroids picks K of the n rows of x by k-means++: each next
// centroid is a row drawn with probability proportional to its squared
// distance to the nearest centroid so far.
func seedCentroids(x []float32, n, D, K int, rng *rand.Rand) []float32 {
	c := make([]float32, 0, K*D)
	c = append(c, x[rng.IntN(n)*D:][:D]...)
	dist := make([]float64, n)
	for t := range dist {
		dist[t] = math.Inf(1)
	}
	for k := 1; k < K; k++ {
		last := c[(k-1)*D:]
		var total float64
		for t := range n {
			var s float64
			for j, v := range x[t*D : (t+1)*D] {
				e := float64(v - last[j])
				s += e * e
			}
			dist[t] = min(dist[t], s)
			total += dist[t]
		}
		r := rng.Float64() * total
		pick := n - 1
		for t, d := range dist {
			if r -= d; r < 0 {
				pick = t
				break
			}
		}
		c = append(c, x[pick*D:][:D]...)
	}
	return c
}

// tensors returns the clusters as checkpoint tensors.
func (cl *kmeans) tensors() map[string][]float32 {
	return map[string][]float32{tensorCentroids: cl.Centroids, tensorFeatMean: cl.Mean, tensorFeatScale: cl.InvStd}
}

// clustersFromTensors rebuilds the clusters of K centroids of D values
// that tensors wrote.
func clustersFromTensors(get func(name string) ([]float32, bool), K, D int) (*kmeans, error) {
	cl := &kmeans{K: K, D: D}
	for _, f := range []struct {
		name string
		dst  *[]float32
		n    int
	}{{tensorCentroids, &cl.Centroids, K * D}, {tensorFeatMean, &cl.Mean, D}, {tensorFeatScale, &cl.InvStd, D}} {
		v, ok := get(f.name)
		if !ok {
			return nil, fmt.Errorf("no %s tensor", f.name)
		}
		if len(v) != f.n {
			return nil, fmt.Errorf("%s has %d values, want %d", f.name, len(v), f.n)
		}
		*f.dst = v
	}
	return cl, nil
}

// The k-means fit of the cluster targets: the frames of at most
// kmeansMaxUtts utterances drawn at random, at most kmeansMaxValues / D
// of them (200,000 MFCC frames, 30,000 frames of 256-value context
// vectors), kmeansRounds rounds of Lloyd's algorithm.
const (
	kmeansMaxUtts   = 1000
	kmeansMaxValues = 200000 * mfccDim
	kmeansRounds    = 25
)

// featurizer returns the features the targets cluster and their width:
// MFCCs, or the teacher's context vectors (loaded from TargetsFrom).
func (m *Model) featurizer() (featurizer, int, error) {
	pc := m.Config.Pretrain
	if pc.Targets == TargetsMFCC {
		return mfccFeaturizer(), mfccDim, nil
	}
	teacher, err := LoadModel(pc.TargetsFrom)
	if err != nil {
		return nil, 0, fmt.Errorf("pretrain: the teacher of the c targets: %w", err)
	}
	if teacher.Frames(16000) != m.Frames(16000) {
		return nil, 0, fmt.Errorf("pretrain: teacher %s gives %d frames a second, this model %d: want the same input", pc.TargetsFrom, teacher.Frames(16000), m.Frames(16000))
	}
	return contextFeaturizer(teacher), teacher.Dim(), nil
}

// fitTargets fits the clusters of the cluster targets on a random sample
// of the n utterances that load reads, drawn from seed, and reports it on
// log. Utterances load cannot read are skipped (load reports them).
func (m *Model) fitTargets(ctx context.Context, n int, load func(i int) ([]float32, error), seed uint64, log *slog.Logger) error {
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 0xc1a5))
	feats, D, err := m.featurizer()
	if err != nil {
		return err
	}
	maxFrames := kmeansMaxValues / D
	var x []float32
	frames, utts := 0, 0
	for _, i := range rng.Perm(n) {
		if utts == kmeansMaxUtts || frames >= maxFrames || ctx.Err() != nil {
			break
		}
		samples, err := load(i)
		if err != nil {
			continue
		}
		f, nf := feats(samples)
		x = append(x, f...)
		frames += nf
		utts++
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	frames = min(frames, maxFrames)
	cl, curve, err := fitClusters(x[:frames*D], frames, D, m.Config.Pretrain.Clusters, kmeansRounds, rng)
	if err != nil {
		return err
	}
	cl.feats = feats
	m.clusters = cl
	log.Info("pretrain: k-means targets fitted", "targets", m.Config.Pretrain.Targets, "clusters", cl.K, "frames", frames,
		"utterances", utts, "mse", curve[len(curve)-1], "rounds", len(curve), "first_mse", curve[0],
		"seconds", math.Round(time.Since(start).Seconds()))
	return nil
}

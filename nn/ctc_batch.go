package nn

import (
	"errors"
	"fmt"
	"math"
)

// CTCBatchLoss computes the CTC loss of each utterance of a batch from
// logits in nn's channels-first layout [B, V, T] (utterance b, symbol v,
// frame t at (b*V+v)*T+t). Utterance b uses its first lengths[b] frames and
// the label sequence labels[b]. The log-softmax over V is taken inside, in
// float64.
//
// losses (length B) receives each utterance's -log p, with the infinite
// losses of CTCLoss (or zeros with cfg.ZeroInfinity). If grad is not nil
// (length B*V*T) it receives the gradient of each utterance's own loss with
// respect to its logits; padding frames get zero. Utterances run in
// parallel. Bad lengths or labels are returned as one error naming every
// utterance at fault, with nothing computed; wrong slice sizes panic.
func CTCBatchLoss[F float32 | float64](cfg CTCConfig, losses []float64, grad, logits []F, B, V, T int, lengths []int, labels [][]int) error {
	if B < 0 || V <= 0 || T < 0 || len(logits) != B*V*T || len(losses) != B || (grad != nil && len(grad) != B*V*T) {
		panic(fmt.Sprintf("nn: CTCBatchLoss: B=%d V=%d T=%d with %d logits, %d losses, %d gradient values", B, V, T, len(logits), len(losses), len(grad)))
	}
	if err := checkCTCBatch(cfg.Blank, B, V, T, lengths, labels); err != nil {
		return err
	}
	runParallel(B, func(b int) {
		w := ctcWorkPool.Get().(*ctcWork)
		defer ctcWorkPool.Put(w)
		n := lengths[b]
		w.lp = ctcGrow(w.lp, n*V)
		x := logits[b*V*T : (b+1)*V*T]
		for t := range n {
			row := w.lp[t*V : (t+1)*V]
			m := math.Inf(-1)
			for v := range V {
				row[v] = float64(x[v*T+t])
				m = max(m, row[v])
			}
			var sum float64
			for _, z := range row {
				sum += math.Exp(z - m)
			}
			lse := m + math.Log(sum)
			for v := range row {
				row[v] -= lse
			}
		}
		var g []float64
		if grad != nil {
			w.grad = ctcGrow(w.grad, n*V)
			g = w.grad
		}
		losses[b] = ctcLoss(w, cfg, g, w.lp, n, V, labels[b])
		if grad == nil {
			return
		}
		out := grad[b*V*T : (b+1)*V*T]
		for v := range V {
			o := out[v*T : (v+1)*T]
			for t := range n {
				o[t] = F(g[t*V+v])
			}
			clear(o[n:])
		}
	})
	return nil
}

// checkCTCBatch checks the lengths and labels of a batch.
func checkCTCBatch(blank, B, V, T int, lengths []int, labels [][]int) error {
	if len(lengths) != B || len(labels) != B {
		return fmt.Errorf("nn: ctc: %d input lengths and %d label sequences for a batch of %d", len(lengths), len(labels), B)
	}
	var errs []error
	for b := range B {
		if lengths[b] < 0 || lengths[b] > T {
			errs = append(errs, fmt.Errorf("nn: ctc: utterance %d: input length %d outside [0, %d]", b, lengths[b], T))
		}
		if err := checkCTCLabels(blank, V, labels[b]); err != nil {
			errs = append(errs, fmt.Errorf("nn: ctc: utterance %d: %w", b, err))
		}
	}
	return errors.Join(errs...)
}

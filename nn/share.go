package nn

import "fmt"

// Data-parallel shares: a batch split over several processes (package
// dist) runs each process's rows through its own program. These settings
// make a process's run compute its part of the whole batch's loss, with
// the random draws the whole batch would have had, so that the sum of the
// processes' gradients is the gradient of the whole batch.

// batchWindow says which rows of the whole batch a program's batch is.
type batchWindow struct{ first, rows, total int }

// SetBatchWindow says that the program's batch of rows rows is rows first
// to first+rows-1 of a batch of total rows: dropout then draws the masks of
// the whole batch, as its program would, and keeps this part's. It applies
// to tensors whose outermost index is the batch row (any [B, ...] or
// [B*T, ...] layout). total 0 (or first 0 with rows == total) is the plain
// program. A window outside [0, total) panics.
func (p *Program) SetBatchWindow(first, rows, total int) {
	if total != 0 && (first < 0 || rows <= 0 || first+rows > total) {
		panic(fmt.Sprintf("nn: SetBatchWindow: rows %d..%d of %d", first, first+rows-1, total))
	}
	if first == 0 && rows == total {
		total = 0
	}
	p.g.window = batchWindow{first, rows, total}
}

// dropoutMask fills mask (the dropout mask of this run's part of the
// batch) from rng: a mask of the whole batch is drawn, 4 elements per
// draw, and the window's rows kept.
func (w batchWindow) dropoutMask(mask []float32, draw func(full []float32)) {
	if w.total == 0 {
		draw(mask)
		return
	}
	n := len(mask)
	if n%w.rows != 0 {
		panic(fmt.Sprintf("nn: dropout: %d elements do not split into %d batch rows", n, w.rows))
	}
	per := n / w.rows
	full := make([]float32, per*w.total)
	draw(full)
	copy(mask, full[w.first*per:])
}

// SetNorm makes the loss divide by norm instead of the sum of this run's
// weights (0: this run's sum): with the weight sum of the whole batch, a
// part of it gives its share of the whole batch's loss and gradient.
// Accuracy still counts this run's frames.
func (h *Contrastive) SetNorm(norm float64) { h.k.norm = norm }

// SetReduce sets a function that each run calls with the weighted sums it
// has counted, before the loss is computed from them: [G*V] softmax sums,
// [G*V] hard-code counts and the weight sum, 2*G*V+1 values. A function
// that replaces them with their sums over the processes of a split batch
// makes every process compute the whole batch's loss, perplexities and
// (for its own frames) gradient. nil removes it.
func (h *Diversity) SetReduce(f func(sums []float64)) { h.k.reduce = f }

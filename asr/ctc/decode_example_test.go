package ctc_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/wav2vec-go/wav2vec/asr/ctc"
	"github.com/wav2vec-go/wav2vec/asr/lm"
	"github.com/wav2vec-go/wav2vec/asr/wer"
)

// frames builds a T x 5 log-probability matrix over blank, "|", "A", "B",
// "C" in which each frame gives 0.8 to its symbol.
func frames(spelling string) ([]float32, int) {
	const V = 5
	var lp []float32
	for _, c := range spelling {
		k := strings.IndexRune("_|ABC", c)
		for j := range V {
			p := 0.2 / (V - 1)
			if j == k {
				p = 0.8
			}
			lp = append(lp, float32(math.Log(p)))
		}
	}
	return lp, len(spelling)
}

func Example() {
	symbols := []string{"", "|", "A", "B", "C"}
	const blank, boundary = 0, 1
	lp, T := frames("_AA_B||CC_A_")

	ids := ctc.GreedyDecode(lp, T, len(symbols), blank)
	fmt.Println(ctc.Transcript(ids, symbols, boundary))

	model, err := lm.ReadARPAFile("../lm/testdata/tiny.arpa")
	if err != nil {
		fmt.Println(err)
		return
	}
	opt := ctc.BeamOptions{Beam: 8, LM: model, LMWeight: 0.5, WordScore: 0.2}
	tokens, _ := ctc.BeamSearch(lp, T, len(symbols), symbols, blank, boundary, opt)
	// 12 frames of 10 ms, from 0.105 s of audio: the last word is clamped.
	for _, w := range ctc.Words(tokens, symbols, boundary, 0.01, 0.105) {
		fmt.Printf("%s %.3f-%.3f\n", w.Text, w.Start, w.End)
	}

	// One substitution (CA -> C) and one insertion (A) over two words.
	fmt.Printf("WER %.3f\n", wer.WordErrors("AB CA", "AB C A").Rate())
	// Output:
	// AB CA
	// AB 0.010-0.050
	// CA 0.070-0.105
	// WER 1.000
}

package features_test

import (
	"fmt"
	"math"

	"github.com/wav2vec-go/wav2vec/features"
)

func Example() {
	e, err := features.New(features.Config{}) // 80 log-mels, 25 ms / 10 ms at 16 kHz
	if err != nil {
		fmt.Println(err)
		return
	}
	// One second of a 1 kHz tone.
	x := make([]float32, 16000)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	feats, frames := e.LogMel(x)
	row := feats[:e.Dim()] // the first frame
	loudest := 0
	for i, v := range row {
		if v > row[loudest] {
			loudest = i
		}
	}
	fmt.Println(frames, "frames of", e.Dim(), "log-mels; loudest bin", loudest)
	_, frames = e.MFCC(x)
	fmt.Println(frames, "frames of", e.NumCeps(), "MFCCs")
	// Output:
	// 98 frames of 80 log-mels; loudest bin 27
	// 98 frames of 13 MFCCs
}

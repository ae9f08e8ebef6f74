package defaultmodel_test

import (
	"fmt"
	"log"
	"os"

	"github.com/wav2vec-go/wav2vec/asr"
	"github.com/wav2vec-go/wav2vec/asr/defaultmodel"
)

// Transcribe a WAV file with the model embedded in the binary, decoded as
// `wav2vec transcribe` does by default: with its LM and lexicon.
func Example() {
	m, err := defaultmodel.Model()
	if err != nil {
		log.Fatal(err)
	}
	opt, err := defaultmodel.Options() // asr.Options{} would decode greedily
	if err != nil {
		log.Fatal(err)
	}
	t, err := asr.NewTranscriber(m, opt)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("../../testdata/speech/noisy_reverb.wav")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	res, err := t.TranscribeReader(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Text)
	// Output: WE ARE NOT ANTICIPATING ANY EMERGENCIES
}

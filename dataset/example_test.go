package dataset_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/wav2vec-go/wav2vec/dataset"
)

func ExampleWordsToLetters() {
	words := dataset.NormalizeText("Hello, world! It's 42.")
	ltr := dataset.WordsToLetters(words)
	fmt.Println(words)
	fmt.Println(ltr)
	fmt.Println(dataset.LettersToWords(ltr))
	// Output:
	// HELLO WORLD IT'S FORTY TWO
	// H E L L O | W O R L D | I T ' S | F O R T Y | T W O |
	// HELLO WORLD IT'S FORTY TWO
}

func ExampleVocab_Encode() {
	v := dataset.DefaultVocab()
	ids, err := v.Encode("H I |")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Size(), ids, v.Decode(ids))
	// Output:
	// 29 [10 11 1] H I |
}

func ExampleParseManifest() {
	tsv := "/data/corpus\nspk1/a.wav\t16000\nspk2/b.wav\t24000\n"
	m, err := dataset.ParseManifest(strings.NewReader(tsv), "train.tsv")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Root, len(m.Entries), m.Seconds(), "s")
	m.Write(os.Stdout)
	_, err = dataset.ParseManifest(strings.NewReader("/data\nspk1/a.wav 16000\n"), "bad.tsv")
	fmt.Println(err)
	// Output:
	// /data/corpus 2 2.5 s
	// /data/corpus
	// spk1/a.wav	16000
	// spk2/b.wav	24000
	// dataset: bad.tsv line 2: want "relative/path.wav<TAB>num_samples", got "spk1/a.wav 16000"
}

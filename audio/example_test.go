package audio_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/wav2vec-go/wav2vec/audio"
)

func Example() {
	// Write half a second of a 44.1 kHz tone, then read it back at 16 kHz.
	tone := make([]float32, 22050)
	for i := range tone {
		tone[i] = 0.5 * float32(i%100) / 100
	}
	var buf bytes.Buffer
	if err := audio.Encode(&buf, tone, 44100); err != nil {
		log.Fatal(err)
	}
	x, format, err := audio.Decode(&buf)
	if err != nil {
		log.Fatal(err)
	}
	audio.Normalize(x)
	fmt.Println(format.Codec, format.BitDepth, format.SampleRate, format.Channels, format.Duration())
	fmt.Println(len(x), "samples at", audio.SampleRate, "Hz")
	// Output:
	// pcm 16 44100 1 500ms
	// 8000 samples at 16000 Hz
}

func ExampleStream() {
	s, err := audio.NewStream(bytes.NewReader(mustEncode(make([]float32, 48000), 48000)))
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]float32, 4096) // memory stays bounded however long the file
	total := 0
	for {
		n, err := s.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(s.Format().SampleRate, "Hz in,", total, "samples at 16 kHz out")
	// Output: 48000 Hz in, 16000 samples at 16 kHz out
}

func ExampleReadFile() {
	_, err := audio.ReadFile("testdata/invalid-zero-channels.wav")
	fmt.Println(err)
	// Output: audio: testdata/invalid-zero-channels.wav: invalid format: zero channels
}

func mustEncode(x []float32, rate int) []byte {
	var buf bytes.Buffer
	if err := audio.Encode(&buf, x, rate); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

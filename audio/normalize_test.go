package audio

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormReader: NormOf reads a WAV stream's normalisation, and Reader
// applies it as the samples are read, giving exactly what Normalize gives
// on the decoded samples.
func TestNormReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 12345)
	for i := range x {
		x[i] = float32(0.3*math.Sin(float64(i)/7) + 0.05*rng.NormFloat64() + 0.1)
	}
	var wav bytes.Buffer
	if err := Encode(&wav, x, SampleRate); err != nil {
		t.Fatal(err)
	}
	want, _, err := Decode(bytes.NewReader(wav.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	Normalize(want)
	r := bytes.NewReader(wav.Bytes())
	norm, n, err := NormOf(r)
	if err != nil || n != int64(len(x)) {
		t.Fatalf("NormOf: %d samples, %v", n, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	s, err := NewStream(r)
	if err != nil {
		t.Fatal(err)
	}
	nr := norm.Reader(s)
	var got []float32
	buf := make([]float32, 1000)
	for {
		k, err := nr.Read(buf)
		got = append(got, buf[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %g, Normalize gives %g", i, got[i], want[i])
		}
	}
}

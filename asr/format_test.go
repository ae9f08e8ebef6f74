package asr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/wav2vec-go/wav2vec/asr/ctc"
)

func TestWriteResult(t *testing.T) {
	r := Result{Text: "HELLO BIG WORLD", Duration: 4.2, Words: []ctc.Word{
		{Text: "HELLO", Start: 0.1, End: 0.5}, {Text: "BIG", Start: 0.6, End: 0.9}, {Text: "WORLD", Start: 2.5, End: 3.25},
	}}
	tests := []struct {
		format, want string
	}{
		{"txt", "HELLO BIG WORLD\n"},
		{"json", `{"file":"a.wav","text":"HELLO BIG WORLD","duration":4.2,"words":[{"word":"HELLO","start":0.1,"end":0.5},{"word":"BIG","start":0.6,"end":0.9},{"word":"WORLD","start":2.5,"end":3.25}]}` + "\n"},
		{"srt", "1\n00:00:00,100 --> 00:00:00,900\nHELLO BIG\n\n2\n00:00:02,500 --> 00:00:03,250\nWORLD\n\n"},
		{"vtt", "WEBVTT\n\nNOTE a.wav\n\n00:00:00.100 --> 00:00:00.900\nHELLO BIG\n\n00:00:02.500 --> 00:00:03.250\nWORLD\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteResult(&b, tt.format, "a.wav", r); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
	var b bytes.Buffer
	if err := WriteResult(&b, "doc", "", r); err == nil || !strings.Contains(err.Error(), "txt, json, srt, vtt") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestWriteResultEmpty(t *testing.T) {
	for _, format := range Formats {
		var b bytes.Buffer
		if err := WriteResult(&b, format, "", Result{Duration: 1}); err != nil {
			t.Fatal(err)
		}
		if format == FormatJSON {
			var v map[string]any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil || v["words"] == nil {
				t.Errorf("json of an empty result: %s (%v)", b.String(), err)
			}
		}
	}
}

func TestCues(t *testing.T) {
	var words []ctc.Word
	for i := range 20 {
		s := 0.3 * float64(i)
		words = append(words, ctc.Word{Text: "W", Start: s, End: s + 0.2})
	}
	words = append(words, ctc.Word{Text: "LATE", Start: 100, End: 101})
	var b bytes.Buffer
	if err := WriteResult(&b, FormatSRT, "", Result{Words: words}); err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(strings.TrimSuffix(b.String(), "\n\n"), "\n\n")
	n := 0
	for i, blk := range blocks {
		lines := strings.Split(blk, "\n")
		if len(lines) != 3 || lines[0] != strconv.Itoa(i+1) {
			t.Fatalf("cue %d: %q", i, blk)
		}
		var s0, s1 float64
		fmt.Sscanf(strings.ReplaceAll(lines[1], ",", "."), "00:%f --> 00:%f", &s0, &s1)
		k := len(strings.Fields(lines[2]))
		n += k
		if k > cueMaxWords || s1-s0 > cueMaxSeconds+1e-9 {
			t.Errorf("cue %d too long: %q", i, blk)
		}
	}
	if n != len(words) || blocks[len(blocks)-1] != fmt.Sprintf("%d\n00:01:40,000 --> 00:01:41,000\nLATE", len(blocks)) {
		t.Errorf("cues %q", blocks)
	}
	if got := timestamp(3725.0416, ","); got != "01:02:05,042" {
		t.Errorf("timestamp %s", got)
	}
}

// TestWriterSegments checks that a transcript written segment by segment is
// the document written whole.
func TestWriterSegments(t *testing.T) {
	var words []ctc.Word
	var texts []string
	for i := range 40 {
		s := 0.45 * float64(i)
		if i%9 == 8 {
			s += 1.5 // a pause
		}
		w := fmt.Sprintf("W%d", i)
		words = append(words, ctc.Word{Text: w, Start: s, End: s + 0.3})
		texts = append(texts, w)
	}
	whole := Result{Text: strings.Join(texts, " "), Words: words, Duration: 30}
	for _, format := range Formats {
		var want, got bytes.Buffer
		if err := WriteResult(&want, format, "x.wav", whole); err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(&got, format, "x.wav")
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range [][2]int{{0, 5}, {5, 5}, {5, 23}, {23, 40}} {
			seg := Segment{Text: strings.Join(texts[cut[0]:cut[1]], " "), Words: words[cut[0]:cut[1]]}
			if err := w.WriteSegment(seg); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(30); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s in segments:\n%s\nwhole:\n%s", format, got.String(), want.String())
		}
	}
}

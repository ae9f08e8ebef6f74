package asr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteResult(t *testing.T) {
	r := Result{Text: "HELLO BIG WORLD", Duration: 4.2, Words: []Word{
		{"HELLO", 0.1, 0.5}, {"BIG", 0.6, 0.9}, {"WORLD", 2.5, 3.25},
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
	var words []Word
	for i := range 20 {
		s := 0.3 * float64(i)
		words = append(words, Word{"W", s, s + 0.2})
	}
	words = append(words, Word{"LATE", 100, 101})
	cs := cues(words)
	n := 0
	for i, c := range cs {
		n += len(c)
		if len(c) > cueMaxWords || c[len(c)-1].End-c[0].Start > cueMaxSeconds {
			t.Errorf("cue %d too long: %v", i, c)
		}
	}
	if n != len(words) || cs[len(cs)-1][0].Text != "LATE" || len(cs[len(cs)-1]) != 1 {
		t.Errorf("cues %v", cs)
	}
	if got := timestamp(3725.0416, ","); got != "01:02:05,042" {
		t.Errorf("timestamp %s", got)
	}
}

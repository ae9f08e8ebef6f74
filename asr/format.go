package asr

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Output formats of WriteResult.
const (
	FormatTXT  = "txt"
	FormatJSON = "json"
	FormatSRT  = "srt"
	FormatVTT  = "vtt"
)

// Formats lists the output formats WriteResult knows.
var Formats = []string{FormatTXT, FormatJSON, FormatSRT, FormatVTT}

// Limits of one subtitle cue: a cue ends after this many words, when it
// would grow longer than this many seconds, or at a pause this long.
const (
	cueMaxWords   = 7
	cueMaxSeconds = 5.0
	cuePause      = 1.0
)

// jsonWord and jsonResult are the JSON form of a Result.
type jsonWord struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

type jsonResult struct {
	File     string     `json:"file,omitempty"`
	Text     string     `json:"text"`
	Duration float64    `json:"duration"`
	Words    []jsonWord `json:"words"`
}

// round3 rounds seconds to milliseconds for the JSON output.
func round3(s float64) float64 { return math.Round(s*1000) / 1000 }

// WriteResult writes r in one of Formats: "txt" is the text on one line;
// "json" one JSON object on one line, {"file", "text", "duration",
// "words": [{"word", "start", "end"}]} with times in seconds; "srt" and
// "vtt" subtitles with one cue per group of up to 7 words (a new cue after
// 5 s or at a pause of 1 s). file names the input in the JSON object (and
// in a VTT NOTE); it may be empty.
func WriteResult(w io.Writer, format, file string, r Result) error {
	var err error
	switch format {
	case FormatTXT:
		_, err = fmt.Fprintln(w, r.Text)
	case FormatJSON:
		jr := jsonResult{File: file, Text: r.Text, Duration: round3(r.Duration), Words: []jsonWord{}}
		for _, wd := range r.Words {
			jr.Words = append(jr.Words, jsonWord{wd.Text, round3(wd.Start), round3(wd.End)})
		}
		var b []byte
		b, err = json.Marshal(jr)
		if err == nil {
			b = append(b, '\n')
			_, err = w.Write(b)
		}
	case FormatSRT:
		_, err = io.WriteString(w, subtitles(r.Words, false, ""))
	case FormatVTT:
		_, err = io.WriteString(w, subtitles(r.Words, true, file))
	default:
		return fmt.Errorf("asr: unknown output format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("asr: writing the %s transcript: %w", format, err)
	}
	return nil
}

// cues groups words into subtitle cues.
func cues(words []Word) [][]Word {
	var out [][]Word
	var cur []Word
	for _, w := range words {
		if len(cur) > 0 && (len(cur) == cueMaxWords || w.End-cur[0].Start > cueMaxSeconds || w.Start-cur[len(cur)-1].End >= cuePause) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, w)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// timestamp formats seconds as HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
func timestamp(s float64, sep string) string {
	ms := int64(math.Round(max(s, 0) * 1000))
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, sep, ms%1000)
}

// subtitles renders words as an SRT or a WebVTT document.
func subtitles(words []Word, vtt bool, file string) string {
	var b strings.Builder
	sep := ","
	if vtt {
		sep = "."
		b.WriteString("WEBVTT\n\n")
		if file != "" {
			fmt.Fprintf(&b, "NOTE %s\n\n", strings.ReplaceAll(file, "-->", "->"))
		}
	}
	for i, c := range cues(words) {
		if !vtt {
			fmt.Fprintf(&b, "%d\n", i+1)
		}
		texts := make([]string, len(c))
		for j, w := range c {
			texts[j] = w.Text
		}
		fmt.Fprintf(&b, "%s --> %s\n%s\n\n", timestamp(c[0].Start, sep), timestamp(c[len(c)-1].End, sep), strings.Join(texts, " "))
	}
	return b.String()
}

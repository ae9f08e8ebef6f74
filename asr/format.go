package asr

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/wav2vec-go/wav2vec/asr/ctc"
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
// in a VTT NOTE); it may be empty. It is a Writer given r as one segment.
func WriteResult(w io.Writer, format, file string, r Result) error {
	tw, err := NewWriter(w, format, file)
	if err != nil {
		return err
	}
	if err := tw.WriteSegment(Segment{Text: r.Text, Words: r.Words}); err != nil {
		return err
	}
	return tw.Close(r.Duration)
}

// A Writer writes one input's transcript in one of Formats (see
// WriteResult) as its segments come: txt, srt and vtt as soon as a segment
// (or a cue) is complete, json in one object at the end. One Writer makes
// one document.
type Writer struct {
	w            io.Writer
	format, file string
	started      bool
	text         strings.Builder // json
	words        []jsonWord      // json
	cue          []ctc.Word      // srt, vtt: the cue being filled
	cues         int             // srt, vtt: cues written
}

// NewWriter returns a Writer of format to w; file names the input as in
// WriteResult.
func NewWriter(w io.Writer, format, file string) (*Writer, error) {
	if !slices.Contains(Formats, format) {
		return nil, fmt.Errorf("asr: unknown output format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	return &Writer{w: w, format: format, file: file}, nil
}

// WriteSegment adds the next segment of the transcript.
func (tw *Writer) WriteSegment(s Segment) error {
	var b strings.Builder
	tw.start(&b)
	switch tw.format {
	case FormatTXT:
		if s.Text != "" {
			if tw.text.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s.Text)
			tw.text.WriteString(s.Text) // only its length matters
		}
	case FormatJSON:
		if s.Text != "" {
			if tw.text.Len() > 0 {
				tw.text.WriteByte(' ')
			}
			tw.text.WriteString(s.Text)
		}
		for _, wd := range s.Words {
			tw.words = append(tw.words, jsonWord{wd.Text, round3(wd.Start), round3(wd.End)})
		}
	default:
		for _, wd := range s.Words {
			if c := tw.cue; len(c) > 0 && (len(c) == cueMaxWords || wd.End-c[0].Start > cueMaxSeconds || wd.Start-c[len(c)-1].End >= cuePause) {
				tw.flushCue(&b)
			}
			tw.cue = append(tw.cue, wd)
		}
	}
	return tw.write(b.String())
}

// Close ends the document; duration is the input's length in seconds (in
// the JSON object).
func (tw *Writer) Close(duration float64) error {
	var b strings.Builder
	tw.start(&b)
	switch tw.format {
	case FormatTXT:
		b.WriteByte('\n')
	case FormatJSON:
		jr := jsonResult{File: tw.file, Text: tw.text.String(), Duration: round3(duration), Words: tw.words}
		if jr.Words == nil {
			jr.Words = []jsonWord{}
		}
		j, err := json.Marshal(jr)
		if err != nil {
			return fmt.Errorf("asr: writing the json transcript: %w", err)
		}
		b.Write(j)
		b.WriteByte('\n')
	default:
		tw.flushCue(&b)
	}
	return tw.write(b.String())
}

// start writes the document's header the first time.
func (tw *Writer) start(b *strings.Builder) {
	if tw.started {
		return
	}
	tw.started = true
	if tw.format == FormatVTT {
		b.WriteString("WEBVTT\n\n")
		if tw.file != "" {
			fmt.Fprintf(b, "NOTE %s\n\n", strings.ReplaceAll(tw.file, "-->", "->"))
		}
	}
}

// flushCue writes the cue being filled, if any.
func (tw *Writer) flushCue(b *strings.Builder) {
	c := tw.cue
	if len(c) == 0 {
		return
	}
	tw.cues++
	sep := ","
	if tw.format == FormatVTT {
		sep = "."
	} else {
		fmt.Fprintf(b, "%d\n", tw.cues)
	}
	texts := make([]string, len(c))
	for j, w := range c {
		texts[j] = w.Text
	}
	fmt.Fprintf(b, "%s --> %s\n%s\n\n", timestamp(c[0].Start, sep), timestamp(c[len(c)-1].End, sep), strings.Join(texts, " "))
	tw.cue = tw.cue[:0]
}

// write writes s to the output.
func (tw *Writer) write(s string) error {
	if s == "" {
		return nil
	}
	if _, err := io.WriteString(tw.w, s); err != nil {
		return fmt.Errorf("asr: writing the %s transcript: %w", tw.format, err)
	}
	return nil
}

// timestamp formats seconds as HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT).
func timestamp(s float64, sep string) string {
	ms := int64(math.Round(max(s, 0) * 1000))
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, sep, ms%1000)
}

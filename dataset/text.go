package dataset

import (
	"strings"
	"unicode"
)

// NormalizeText maps free text to the default alphabet's words: upper case,
// common Latin accents dropped (É -> E, ß -> SS), curly apostrophes made
// straight, runs of digits spelled out as an English number ("42" ->
// "FORTY TWO"; runs longer than 12 digits digit by digit), every other
// character a word break, apostrophes kept only inside or at the edge of a
// word that has letters, spaces collapsed, the ends trimmed.
func NormalizeText(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r >= '0' && r <= '9':
			j := i
			for j < len(rs) && rs[j] >= '0' && rs[j] <= '9' {
				j++
			}
			b.WriteByte(' ')
			b.WriteString(spellDigits(string(rs[i:j])))
			b.WriteByte(' ')
			i = j - 1
		case r == '\'' || r == '\u2019' || r == '\u2018' || r == '`':
			b.WriteByte('\'')
		default:
			if m, ok := foldLetter(r); ok {
				b.WriteString(m)
			} else {
				b.WriteByte(' ')
			}
		}
	}
	words := strings.Fields(b.String())
	out := words[:0]
	for _, w := range words {
		if strings.Trim(w, "'") != "" { // a word that is only apostrophes is a quote mark
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// accents maps the Latin-1 and Latin Extended-A letters with diacritics that
// unicode.ToUpper leaves outside A-Z.
var accents = map[rune]string{
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Æ': "AE", 'Ç': "C",
	'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I",
	'Ð': "D", 'Ñ': "N", 'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O",
	'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ý': "Y", 'Þ': "TH", 'ß': "SS", 'Ÿ': "Y",
	'Œ': "OE", 'Š': "S", 'Ž': "Z", 'Č': "C", 'Ř': "R", 'Ł': "L", 'Ń': "N", 'Ś': "S",
	'Ź': "Z", 'Ż': "Z", 'Ę': "E", 'Ą': "A", 'Ć': "C",
}

// foldLetter returns r as upper-case A-Z letters, or false if r is not a
// letter the default alphabet can spell.
func foldLetter(r rune) (string, bool) {
	if r == 'ß' {
		return "SS", true
	}
	u := unicode.ToUpper(r)
	if u >= 'A' && u <= 'Z' {
		return string(u), true
	}
	if m, ok := accents[u]; ok {
		return m, true
	}
	return "", false
}

var (
	ones = []string{"ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
		"TEN", "ELEVEN", "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN", "SEVENTEEN", "EIGHTEEN", "NINETEEN"}
	tens   = []string{"", "", "TWENTY", "THIRTY", "FORTY", "FIFTY", "SIXTY", "SEVENTY", "EIGHTY", "NINETY"}
	scales = []string{"", "THOUSAND", "MILLION", "BILLION"}
)

// spellDigits spells a run of ASCII digits. Leading zeros and runs longer
// than 12 digits are read digit by digit ("007" -> "ZERO ZERO SEVEN").
func spellDigits(d string) string {
	if len(d) > 12 || (len(d) > 1 && d[0] == '0') {
		w := make([]string, len(d))
		for i := range d {
			w[i] = ones[d[i]-'0']
		}
		return strings.Join(w, " ")
	}
	var n int64
	for i := range d {
		n = 10*n + int64(d[i]-'0')
	}
	if n == 0 {
		return ones[0]
	}
	var parts []string
	for s := len(scales) - 1; s >= 0; s-- {
		unit := int64(1)
		for range s {
			unit *= 1000
		}
		if g := n / unit; g > 0 {
			parts = append(parts, below1000(int(g)))
			if scales[s] != "" {
				parts = append(parts, scales[s])
			}
			n %= unit
		}
	}
	return strings.Join(parts, " ")
}

// below1000 spells 1..999.
func below1000(n int) string {
	var w []string
	if n >= 100 {
		w = append(w, ones[n/100], "HUNDRED")
		n %= 100
	}
	switch {
	case n >= 20:
		w = append(w, tens[n/10])
		if n%10 != 0 {
			w = append(w, ones[n%10])
		}
	case n > 0:
		w = append(w, ones[n])
	}
	return strings.Join(w, " ")
}

// WordsToLetters turns words into the .ltr format, as fairseq's
// libri_labels.py does: "HELLO WORLD" -> "H E L L O | W O R L D |". Runs of
// white space count as one word break; empty input gives "".
func WordsToLetters(words string) string {
	fields := strings.Fields(words)
	if len(fields) == 0 {
		return ""
	}
	var b strings.Builder
	for _, w := range fields {
		for _, r := range w {
			b.WriteRune(r)
			b.WriteByte(' ')
		}
		b.WriteString("| ")
	}
	return strings.TrimSuffix(b.String(), " ")
}

// LettersToWords turns the .ltr format back into words:
// "H E L L O | W O R L D |" -> "HELLO WORLD".
func LettersToWords(ltr string) string {
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, tok := range strings.Fields(ltr) {
		if tok == WordBoundary {
			flush()
			continue
		}
		cur.WriteString(tok)
	}
	flush()
	return strings.Join(words, " ")
}

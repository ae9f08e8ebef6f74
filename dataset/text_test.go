package dataset

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalizeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello, world!", "HELLO WORLD"},
		{"  don't   STOP  ", "DON'T STOP"},
		{"It’s a ‘quote’", "IT'S A 'QUOTE'"},
		{"' -- '", ""},
		{"Café naïve Straße", "CAFE NAIVE STRASSE"},
		{"chapter 42, page 7", "CHAPTER FORTY TWO PAGE SEVEN"},
		{"in 1999", "IN ONE THOUSAND NINE HUNDRED NINETY NINE"},
		{"agent 007", "AGENT ZERO ZERO SEVEN"},
		{"3rd", "THREE RD"},
		{"x\ty\nz", "X Y Z"},
		{"日本 ok", "OK"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := NormalizeText(tc.in); got != tc.want {
			t.Errorf("NormalizeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSpellDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "ZERO"}, {"13", "THIRTEEN"}, {"20", "TWENTY"}, {"101", "ONE HUNDRED ONE"},
		{"1000", "ONE THOUSAND"}, {"2000005", "TWO MILLION FIVE"},
		{"999999999999", "NINE HUNDRED NINETY NINE BILLION NINE HUNDRED NINETY NINE MILLION NINE HUNDRED NINETY NINE THOUSAND NINE HUNDRED NINETY NINE"},
		{"1234567890123", "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE ZERO ONE TWO THREE"},
	}
	for _, tc := range tests {
		if got := spellDigits(tc.in); got != tc.want {
			t.Errorf("spellDigits(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLetters(t *testing.T) {
	tests := []struct{ words, ltr string }{
		{"HELLO WORLD", "H E L L O | W O R L D |"},
		{"A", "A |"},
		{"DON'T", "D O N ' T |"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := WordsToLetters(tc.words); got != tc.ltr {
			t.Errorf("WordsToLetters(%q) = %q, want %q", tc.words, got, tc.ltr)
		}
		if got := LettersToWords(tc.ltr); got != tc.words {
			t.Errorf("LettersToWords(%q) = %q, want %q", tc.ltr, got, tc.words)
		}
	}
	// Extra spaces and a missing final bar are tolerated on the way back.
	if got := LettersToWords("  H I |  T H E R E"); got != "HI THERE" {
		t.Errorf("LettersToWords = %q", got)
	}
	// Round trip over random normalised text.
	rng := rand.New(rand.NewPCG(1, 1))
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
	for range 200 {
		var words []string
		for range rng.IntN(6) + 1 {
			var w strings.Builder
			for range rng.IntN(8) + 1 {
				w.WriteByte(letters[rng.IntN(26)])
			}
			words = append(words, w.String())
		}
		s := strings.Join(words, " ")
		if got := LettersToWords(WordsToLetters(s)); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	}
}

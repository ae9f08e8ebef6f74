package dataset

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestDefaultVocab(t *testing.T) {
	v := DefaultVocab()
	if v.Size() != 29 || v.Blank() != 0 || v.Symbol(0) != BlankSymbol {
		t.Fatalf("size %d, blank %d %q", v.Size(), v.Blank(), v.Symbol(0))
	}
	for sym, want := range map[string]int{"|": 1, "'": 2, "A": 3, "Z": 28} {
		if got, ok := v.Index(sym); !ok || got != want {
			t.Errorf("Index(%q) = %d, %v; want %d", sym, got, ok, want)
		}
	}
	if _, ok := v.Index("a"); ok {
		t.Error("lower-case a is in the default vocabulary")
	}
	ltr := "H E L L O | W O R L D |"
	ids, err := v.Encode(ltr)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{10, 7, 14, 14, 17, 1, 25, 17, 20, 14, 6, 1}; !slices.Equal(ids, want) {
		t.Fatalf("Encode = %v, want %v", ids, want)
	}
	if got := v.Decode(ids); got != ltr {
		t.Errorf("Decode = %q, want %q", got, ltr)
	}
	if got := v.Decode([]int{0, 3, -1, 99}); got != "<blank> A <unk:-1> <unk:99>" {
		t.Errorf("Decode with blank and bad ids = %q", got)
	}
	for _, bad := range []string{"H é |", "H <blank> |", "HELLO |"} {
		if _, err := v.Encode(bad); err == nil || !strings.HasPrefix(err.Error(), "dataset: symbol") {
			t.Errorf("Encode(%q) error = %v", bad, err)
		}
	}
	_, err = v.EncodeAll([]string{"A |", "B x |"}, "train.ltr")
	if err == nil || !strings.Contains(err.Error(), `dataset: train.ltr line 2: symbol "x" (token 2)`) {
		t.Errorf("EncodeAll error = %v", err)
	}
}

func TestReadDict(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // symbols after the blank; nil means an error
		errSub   string
	}{
		{"fairseq dict.ltr.txt", "| 94802\nE 51860\nT 38431\n' 1630\n", []string{"|", "E", "T", "'"}, ""},
		{"overwrite flag and blank lines", "\nA 5 #fairseq:overwrite\n\nB 0\n", []string{"A", "B"}, ""},
		{"missing count", "A 5\nB\n", nil, `d.txt line 2: want one "SYMBOL COUNT" per line`},
		{"count not a number", "A five\n", nil, "d.txt line 1: count \"five\""},
		{"duplicate", "A 1\nB 1\nA 2\n", nil, "d.txt line 3: vocabulary symbol \"A\" appears twice"},
		{"blank in file", "<blank> 1\n", nil, "appears twice"},
		{"three fields", "A 1 2\n", nil, "line 1: want"},
		{"empty", "\n\n", nil, "has no symbols"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseDict(strings.NewReader(tc.in), "d.txt")
			if tc.want == nil {
				if err == nil || !strings.HasPrefix(err.Error(), "dataset: ") || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("ParseDict error = %v, want one containing %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Symbols(); !slices.Equal(got[1:], tc.want) || got[0] != BlankSymbol {
				t.Fatalf("symbols %q, want blank then %q", got, tc.want)
			}
			var buf bytes.Buffer
			if err := v.WriteDict(&buf); err != nil {
				t.Fatal(err)
			}
			v2, err := ParseDict(&buf, "again")
			if err != nil || !slices.Equal(v2.Symbols(), v.Symbols()) {
				t.Fatalf("WriteDict round trip: %v, %v", v2, err)
			}
		})
	}
	if _, err := ReadDict("/nonexistent/dict.ltr.txt"); err == nil || !strings.Contains(err.Error(), "SYMBOL COUNT") {
		t.Errorf("ReadDict of a missing file: %v", err)
	}
}

func FuzzParseDict(f *testing.F) {
	f.Add("| 94802\nE 51860\n")
	f.Add("A 5 #fairseq:overwrite\n")
	f.Add("A\n")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ParseDict(strings.NewReader(in), "f.txt")
		if (v == nil) == (err == nil) {
			t.Fatalf("got vocabulary %v and error %v together", v, err)
		}
		if v == nil {
			return
		}
		for i, s := range v.Symbols() {
			if j, ok := v.Index(s); !ok || j != i {
				t.Fatalf("symbol %q at %d indexes to %d, %v", s, i, j, ok)
			}
		}
	})
}

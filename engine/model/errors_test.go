package model

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCheckTextCountsCharactersAndFindsControls: lengths are characters,
// not bytes, and a control character is found wherever it is, before or
// after the first character that is not ASCII.
func TestCheckTextCountsCharactersAndFindsControls(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		want    string // part of the message; "" for accepted
	}{
		{"ascii at the limit", strings.Repeat("a", 8), ""},
		{"ascii over the limit", strings.Repeat("a", 9), "at most 8 characters, got 9"},
		{"two-byte characters at the limit", strings.Repeat("é", 8), ""},
		{"two-byte characters over the limit", "a" + strings.Repeat("é", 8), "at most 8 characters, got 9"},
		{"empty", "", "must not be empty"},
		{"a control character in ascii", "s-\x01", "control characters"},
		{"DEL", "s-\x7f", "control characters"},
		{"a control character after a non-ascii one", "é\n", "control characters"},
		{"a control character before a non-ascii one", "\té", "control characters"},
		{"non-ascii without controls", "Zoë 北京", ""},
	} {
		err := CheckText("session_id", tc.s, 1, 8)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Message, tc.want)):
			t.Errorf("%s: %v, want a refusal saying %q", tc.name, err, tc.want)
		}
	}
}

// TestTextLengthAgreesWithCountingRunes: the word-at-a-time scan finds a
// control character or a character past ASCII at every place in strings
// of up to 40 bytes, as counting runes one by one does.
func TestTextLengthAgreesWithCountingRunes(t *testing.T) {
	for size := range 41 {
		for at := range size {
			for _, special := range []string{"\x00", "\x1f", " ", "~", "\x7f", "é", "北", "\xff"} {
				s := strings.Repeat("a", at) + special + strings.Repeat("b", max(0, size-at-1))
				n, control := textLength(s)
				wantN := utf8.RuneCountInString(s)
				wantControl := strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
				if n != wantN || control != wantControl {
					t.Fatalf("textLength(%q) = %d, %v; want %d, %v", s, n, control, wantN, wantControl)
				}
			}
		}
	}
}

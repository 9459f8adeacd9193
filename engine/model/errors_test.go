package model

import (
	"strings"
	"testing"
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

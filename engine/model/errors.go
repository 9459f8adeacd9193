package model

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors shared across the engine. The HTTP front maps each to a
// status and an error code.
var (
	ErrNotFound    = errors.New("engine: not found")
	ErrStreamLimit = errors.New("engine: stream limit reached")
	// ErrSegmentLimit: as many segments as --max-segments exist.
	ErrSegmentLimit = errors.New("engine: segment limit reached")
	// ErrFilterLimit: as many uploaded filters as --max-filters exist.
	ErrFilterLimit = errors.New("engine: filter limit reached")
	// ErrLimitReached: as many of a kind of object exist as hookwire keeps
	// (system webhooks, a segment's alerts).
	ErrLimitReached = errors.New("engine: limit reached")
	ErrNameTaken    = errors.New("engine: name already in use")
	ErrSaturated    = errors.New("engine: saturated, retry later")
	ErrShuttingDown = errors.New("engine: shutting down")
	ErrInUse        = errors.New("engine: in use")
	ErrTooLarge     = errors.New("engine: too large")
	// ErrOrphaned: a delivery's stream (or system endpoint) was deleted,
	// so there is no secret left to sign it with.
	ErrOrphaned = errors.New("engine: its stream or endpoint was deleted")
	// ErrLowOnSpace: the data directory has less free space than the
	// store keeps free to write safely; nothing was written.
	ErrLowOnSpace = errors.New("engine: the data directory is low on space")
)

// InvalidError is a rejected input, naming the JSON path of the problem.
type InvalidError struct {
	Path    string
	Message string
	// Index is the 0-based position of the offending event in a batch, or -1.
	Index int
}

func (e *InvalidError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ErrInvalid is matched by every *InvalidError.
var ErrInvalid = errors.New("engine: invalid input")

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// MaxSessionIDLength is the longest session id, in characters (CONTRACT §2).
const MaxSessionIDLength = 256

// CheckText refuses an identifier or name that is shorter than minLen or
// longer than maxLen characters, or holds a control character: the one
// rule for session ids wherever a client names one (events, notes).
func CheckText(path, s string, minLen, maxLen int) *InvalidError {
	n, control := textLength(s)
	switch {
	case n < minLen:
		return invalidText(path, "must not be empty")
	case n > maxLen:
		return invalidText(path, fmt.Sprintf("at most %d characters, got %d", maxLen, n))
	case control:
		return invalidText(path, "must not contain control characters")
	}
	return nil
}

// textLength counts s's characters and says whether one is a control
// character, in one pass over the bytes while they are ASCII (every event
// checks its session id and its user's fields, nearly always ASCII).
func textLength(s string) (n int, control bool) {
	// Eight bytes a step while none is a control character or past ASCII
	// (a flag can be wrong only above a right one, where the byte loop
	// takes over anyway): ids and user fields are mostly over eight bytes.
	const ones, high = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		del := w ^ (ones * 0x7f)
		if (w|(w-ones*0x20)&^w|(del-ones)&^del)&high != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			rest := s[i:]
			return i + utf8.RuneCountInString(rest), control || strings.ContainsFunc(rest, isControl)
		}
		control = control || isControl(rune(c))
	}
	return len(s), control
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func invalidText(path, message string) *InvalidError {
	return &InvalidError{Path: path, Message: message, Index: -1}
}

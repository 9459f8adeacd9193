//go:build !wasip1

package hookwire

import (
	"bytes"
	"fmt"
	"os"
)

// On the host the state lives in memory, one session's worth, so a filter's
// logic can be tested with go test. Reset clears it between sessions.
var memory = map[string][]byte{}

// Get returns this session's value for key.
func Get(key string) ([]byte, bool) {
	v, ok := memory[key]
	return v, ok
}

// Set stores value for key in this session's state.
func Set(key string, value []byte) bool {
	memory[key] = bytes.Clone(value)
	return true
}

// Log writes a line to standard error.
func Log(msg string) { fmt.Fprintln(os.Stderr, "hookwire filter:", msg) }

// Reset forgets the in-memory session state (host builds only).
func Reset() { memory = map[string][]byte{} }

package filters

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("filters: invalid trigger definition")

// ValidationError names the bad part of a definition by its JSON path, for
// example "triggers[2].where[0].op", so an API can say exactly what to fix.
type ValidationError struct {
	Path    string
	Message string
}

func (e *ValidationError) Error() string { return e.Path + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(path, format string, args ...any) *ValidationError {
	return &ValidationError{Path: path, Message: fmt.Sprintf(format, args...)}
}

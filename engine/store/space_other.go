//go:build !linux

package store

import (
	"errors"
	"math"
	"syscall"
)

// Elsewhere than Linux the guard does not allocate ahead or read the free
// space: the store is never low, as before the guard.

func allocateAhead(string) (uint64, error) { return 0, nil }

func unallocated(string) (uint64, error) { return 0, nil }

func freeBytes(string) (uint64, error) { return math.MaxInt64, nil }

func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

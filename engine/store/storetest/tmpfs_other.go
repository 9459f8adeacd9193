//go:build !linux

package storetest

import "testing"

// MountTmpfs skips: mounting a file system to fill is done on Linux only.
func MountTmpfs(t testing.TB, size int64) string {
	t.Skip("filling a file system of its own needs Linux")
	return ""
}

// FillUp is not reached: MountTmpfs skipped the test.
func FillUp(t testing.TB, path string, leave int64) {}

//go:build linux

// Package storetest helps tests run the store out of disk space: a small
// file system of its own, and a file that fills it.
package storetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// MountTmpfs mounts a file system of size bytes at a new directory, so
// that a test can fill it, and unmounts it when the test ends. It skips
// the test where mounting is not permitted: it needs CAP_SYS_ADMIN, which
// root in CI's containers has.
func MountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a small file system to fill (%v): the full-disk paths go untested here; "+
			"the low-space refusals are tested with a reserve over the free space", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// FillUp writes path until its file system has no byte left, or only
// leave bytes when leave > 0 (measured with statfs, so roughly).
func FillUp(t testing.TB, path string, leave int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if leave > 0 {
			var st syscall.Statfs_t
			if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
				t.Fatal(err)
			}
			if free := int64(st.Bavail) * st.Bsize; free <= leave {
				return
			} else if free-leave < int64(len(chunk)) {
				chunk = chunk[:free-leave]
			}
		}
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	for len(chunk) > 1 { // what is left of the last chunk's room
		chunk = chunk[:len(chunk)/2]
		f.Write(chunk)
	}
}

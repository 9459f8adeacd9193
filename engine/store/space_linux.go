package store

import (
	"errors"
	"os"
	"syscall"
)

// allocateAhead gives path's holes blocks (fallocate without changing its
// size or contents). It returns the bytes still unallocated when it could
// not: errNoAllocate when the file system does not support it, else why.
func allocateAhead(path string) (uint64, error) {
	holes, err := unallocated(path)
	if err != nil || holes == 0 {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // Badger removed it meanwhile (flushed and rotated)
		}
		return holes, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return holes, err
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, fi.Size())
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, syscall.EOPNOTSUPP):
		return holes, errNoAllocate
	}
	return holes, err
}

// unallocated is how much of path's length has no blocks yet (its holes;
// a little more for a file with indirect blocks, which is on the safe side).
func unallocated(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return 0, nil
		}
		return 0, err
	}
	allocated := st.Blocks * 512
	if allocated >= st.Size {
		return 0, nil
	}
	return uint64(st.Size - allocated), nil
}

// freeBytes is what an unprivileged writer may still allocate in dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// isNoSpace: a write failed because the file system (or the user's
// quota) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

package store

import (
	"os"
	"syscall"
)

// datasync makes f's data durable with fdatasync: it skips metadata a read
// does not need (the modification time), which for a reused segment is all
// of it.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

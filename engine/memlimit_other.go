//go:build !linux

package engine

// memoryLimit is a guess where the machine's memory is not read: 8 GiB.
func memoryLimit() int64 { return 8 << 30 }

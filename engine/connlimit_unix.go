//go:build unix

package engine

import "syscall"

// connectionLimit is the default --max-connections: the open-file limit
// (which Go raises to its hard limit at start) less a quarter of it, at
// most 4096, for the store's tables, the event log, filters and delivery
// connections; no more than fasthttp's own default.
func connectionLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 64 {
		return 1024
	}
	reserve := min(lim.Cur/4, 4096)
	return int(min(lim.Cur-reserve, 256*1024))
}

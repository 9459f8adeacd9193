//go:build unix

package engine

import "syscall"

// connectionLimits are the defaults of --max-connections and
// --max-outbound-connections. The open-file limit (which Go raises to its
// hard limit at start) less a quarter of it, at most 4096, is for client
// connections, no more than fasthttp's own default; half of that quarter
// is for connections to receivers, and the other half for the store's
// tables, the event log and filters.
func connectionLimits() (clients, receivers int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 64 {
		return 1024, 256
	}
	reserve := min(lim.Cur/4, 4096)
	return int(min(lim.Cur-reserve, 256*1024)), int(reserve / 2)
}

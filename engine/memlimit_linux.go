package engine

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// memoryLimit is the memory hookwire may use: the machine's, or its
// cgroup's limit when that is lower (a container's).
func memoryLimit() int64 {
	var info syscall.Sysinfo_t
	limit := int64(8 << 30) // if the kernel will not say
	if syscall.Sysinfo(&info) == nil {
		limit = int64(info.Totalram) * int64(info.Unit)
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err == nil && n > 0 {
			limit = min(limit, n) // "max" (no limit) does not parse
		}
	}
	return limit
}

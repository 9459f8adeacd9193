//go:build !linux

package wasm

import "github.com/tetratelabs/wazero/experimental"

// newMemory: a memory on the Go heap, charged to the budget (charged bytes
// were taken for it already).
func newMemory(capacity, max uint64, budget *memoryBudget, charged uint64) experimental.LinearMemory {
	return &heapMemory{max: max, budget: budget, charged: charged}
}

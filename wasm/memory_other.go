//go:build !linux

package wasm

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// allocateMemory is nil elsewhere: wazero's own allocation.
var allocateMemory experimental.MemoryAllocator

// mappedMemories is always zero here.
var mappedMemories atomic.Int64

//go:build !linux

package wasm

import "github.com/tetratelabs/wazero/experimental"

// allocateMemory is nil elsewhere: wazero's own allocation.
var allocateMemory experimental.MemoryAllocator

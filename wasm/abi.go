package wasm

// The filter ABI, version hookwire_v1 (filters/ABI.md describes it for guest
// authors). Every name a guest exports or imports is here and only here.
const (
	ABIVersion = "hookwire_v1"

	// HostModule is the import module of hookwire's host functions.
	HostModule = "hookwire"
	// WASIModule is the WASI preview 1 import module.
	WASIModule = "wasi_snapshot_preview1"

	ExportMemory     = "memory"
	ExportAlloc      = "hw_alloc"    // (size i32) -> ptr i32
	ExportMatch      = "hw_match"    // (ptr, len i32) -> verdict i32
	ExportInit       = "hw_init"     // optional (ptr, len i32) -> status i32
	ExportInitialize = "_initialize" // optional WASI reactor start

	ImportStateGet = "state_get" // (kptr, klen, vptr, vcap i32) -> i32
	ImportStateSet = "state_set" // (kptr, klen, vptr, vlen i32) -> i32
	ImportLog      = "log"       // (ptr, len i32)

	// importYield is what hookwire's instrumentation of an uploaded
	// module (instrument.go) calls every so often: not part of the ABI,
	// but a module may import it (it does nothing a guest can see).
	importYield = "__yield" // ()
)

// Verdicts returned by hw_match. Declarative programs return the 1-based
// index of the matching trigger instead of VerdictMatch; negative values
// are the guest's own errors.
const (
	VerdictNoMatch int32 = 0
	VerdictMatch   int32 = 1
)

// Limits of the host functions.
const (
	MaxStateKey   = 256
	MaxStateValue = 64 << 10
	MaxLogLine    = 4 << 10
	// MaxLogLines bounds what one call may log: a filter logging in a
	// loop for its whole budget wrote thousands of lines per event.
	MaxLogLines = 16
)

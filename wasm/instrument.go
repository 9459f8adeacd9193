package wasm

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Names the instrumented module exports for the host. A module exporting
// any of them itself is refused: hookwire reserves them.
const (
	exportCountdown = "hookwire.countdown"
	exportStop      = "hookwire.stop"
	exportStart     = "hookwire.start"
)

// instrument returns the prechecked module b with a check at the entry of
// every function and the head of every loop, which every unbounded
// computation in Wasm passes. A check charges its region's size (the
// instructions of the function or loop body: more than one pass through
// it can run) to a countdown global; when the countdown runs out, it
// calls the host's importYield, then traps (unreachable) if the stop
// global is set, else restarts the countdown.
//
// The trip to Go is what lets Go's scheduler stop the goroutine: compiled
// Wasm has no point where the runtime can preempt it, so a call that never
// left it would hold up every garbage collection (the whole process,
// watchdog included) until it returned. It is also where a call that runs
// for a while has its thread's CPU clock noted for the watchdog (a system
// call that most calls, ending sooner, never make). The countdown makes
// the trip once per about yieldEvery instructions; the watchdog stops a
// call by setting the stop global and zeroing the countdown.
//
// wazero's own way (WithCloseOnContextDone) makes a trip to Go at every
// loop head and starts a goroutine per call: the example filters' calls
// cost 6 to 44 times what they cost without it (RATIONALE.md, "Uploaded
// filters"). Here a check is a few instructions the CPU predicts.
//
// The yield import goes after the module's own imports, so the module's
// functions move up one index: calls, function references, exports,
// element segments and global initialisers are renumbered. A start
// section becomes an export (exportStart) that Instantiate calls under the
// init budget: wazero runs a start function before it hands over the
// module, when the globals could not yet be set.
func instrument(b []byte) ([]byte, error) {
	mod, err := readSections(b)
	if err != nil {
		return nil, err
	}
	for _, name := range mod.exportNames {
		if name == exportStop || name == exportCountdown || name == exportStart {
			return nil, fmt.Errorf("%w: it exports %q, a name hookwire reserves", ErrABI, name)
		}
	}
	ids := renumbering{from: uint32(mod.importedFuncs)}
	yield := uint32(mod.importedFuncs)
	countdown := uint32(mod.importedGlobals + mod.definedGlobals)
	check := checkCode{yield: yield, countdown: countdown, stop: countdown + 1}

	out := append(make([]byte, 0, len(b)+len(b)/4+64), b[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	// rewritten is section id's new body (old is nil when the module has
	// none): what instrument adds to it, its function indexes renumbered.
	rewritten := func(id byte, old []byte) ([]byte, error) {
		switch id {
		case 1: // a type for the import: () -> ()
			return appendToVector(old, mod.types, 1, []byte{0x60, 0x00, 0x00}), nil
		case 2:
			entry := appendName(appendName(nil, HostModule), importYield)
			entry = binary.AppendUvarint(append(entry, 0x00), uint64(mod.types))
			return appendToVector(old, mod.imports, 1, entry), nil
		case 6:
			// (global (mut i32) (i32.const yieldEvery)) (global (mut i32) (i32.const 0))
			entries := binary.AppendVarint([]byte{0x7f, 0x01, 0x41}, yieldEvery)
			entries = append(entries, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b)
			old, err := ids.globals(old)
			return appendToVector(old, mod.definedGlobals, 2, entries), err
		case 7:
			entries := binary.AppendUvarint(append(appendName(nil, exportCountdown), 0x03), uint64(countdown))
			entries = binary.AppendUvarint(append(appendName(entries, exportStop), 0x03), uint64(check.stop))
			count := 2
			if mod.hasStart {
				entries = binary.AppendUvarint(append(appendName(entries, exportStart), 0x00), uint64(ids.of(mod.start)))
				count++
			}
			old, err := ids.exports(old)
			return appendToVector(old, len(mod.exportNames), count, entries), err
		case 9:
			return ids.elements(old)
		case 10:
			return instrumentCode(old, check, ids)
		}
		return old, nil
	}
	added := map[byte]bool{}
	// addMissing emits the sections instrument adds to that the module
	// lacks, at their place in the section order, before a section that
	// follows.
	addMissing := func(before byte) error {
		for _, id := range []byte{1, 2, 6, 7} {
			if !mod.has[id] && !added[id] && sectionRank(id) < sectionRank(before) {
				added[id] = true
				body, err := rewritten(id, nil)
				if err != nil {
					return err
				}
				emit(id, body)
			}
		}
		return nil
	}
	for _, s := range mod.sections {
		if err := addMissing(s.id); err != nil {
			return nil, err
		}
		if s.id == 8 { // start: exported instead
			continue
		}
		body, err := rewritten(s.id, s.body)
		if err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrInvalid, s.id, err)
		}
		emit(s.id, body)
	}
	if err := addMissing(0xff); err != nil {
		return nil, err
	}
	return out, nil
}

// renumbering moves every function index from up by one: the yield
// import takes index from, after the module's own imports.
type renumbering struct{ from uint32 }

func (n renumbering) of(f uint32) uint32 {
	if f >= n.from {
		return f + 1
	}
	return f
}

// exports is an export section's entries with their function indexes
// renumbered.
func (n renumbering) exports(body []byte) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	r := &reader{b: body}
	count := r.vec()
	out := binary.AppendUvarint(nil, uint64(count))
	for range count {
		out = appendName(out, string(r.take(r.u32())))
		kind, index := r.byte(), r.u32()
		if kind == 0 {
			index = n.of(index)
		}
		out = binary.AppendUvarint(append(out, kind), uint64(index))
	}
	return out, r.err
}

// globals is a global section's entries with the function references in
// their initialisers renumbered.
func (n renumbering) globals(body []byte) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	r := &reader{b: body}
	count := r.vec()
	out := binary.AppendUvarint(nil, uint64(count))
	for range count {
		start := len(body) - len(r.b)
		r.valType()
		r.byte() // mutability
		out = append(out, body[start:len(body)-len(r.b)]...)
		out = n.constExpr(r, body, out)
	}
	return out, r.err
}

// elements is an element section (any of its eight forms per segment)
// with its function indexes and references renumbered.
func (n renumbering) elements(body []byte) ([]byte, error) {
	r := &reader{b: body}
	count := r.vec()
	out := binary.AppendUvarint(nil, uint64(count))
	for range count {
		flags := r.u32()
		out = binary.AppendUvarint(out, uint64(flags))
		if flags > 7 {
			return nil, fmt.Errorf("element segment flags %d", flags)
		}
		if flags&1 == 0 { // active
			if flags&2 != 0 {
				out = binary.AppendUvarint(out, uint64(r.u32())) // table
			}
			out = n.constExpr(r, body, out)
		}
		exprs := flags&4 != 0
		if flags&3 != 0 { // element kind or reference type
			start := len(body) - len(r.b)
			if exprs {
				r.valType()
			} else {
				r.byte()
			}
			out = append(out, body[start:len(body)-len(r.b)]...)
		}
		items := r.vec()
		out = binary.AppendUvarint(out, uint64(items))
		for range items {
			if exprs {
				out = n.constExpr(r, body, out)
			} else {
				out = binary.AppendUvarint(out, uint64(n.of(r.u32())))
			}
		}
	}
	return out, r.err
}

// constExpr copies the constant expression r is at (in body) to out, its
// function references renumbered.
func (n renumbering) constExpr(r *reader, body, out []byte) []byte {
	for r.err == nil {
		start := len(body) - len(r.b)
		op := r.byte()
		if op == 0xd2 { // ref.func
			out = binary.AppendUvarint(append(out, op), uint64(n.of(r.u32())))
			continue
		}
		r.b = body[start:]
		r.constExprOp()
		out = append(out, body[start:len(body)-len(r.b)]...)
		if op == 0x0b {
			break
		}
	}
	return out
}

// yieldEvery is how many instructions, counted as the checks charge them
// (more than run), may run between two trips to Go (instrument): a
// garbage collection waits at most about that long for a call (~0.1 ms),
// and a tight loop of ten instructions makes the trip every 26,000th of
// its iterations. At 1<<14 the example filters' calls made the trip, and
// paid for finding their thread, nearly every call (C 2.5 against 1.1 µs).
const yieldEvery = 1 << 18

// checkCode is what a check refers to: the yield import and the
// countdown and stop globals.
type checkCode struct{ yield, countdown, stop uint32 }

// append appends the check of a region of size instructions. A charge is
// at most yieldEvery, so that one check can always run the countdown out
// (a region can be a function of a million bytes).
func (c checkCode) append(out []byte, size int) []byte {
	get := binary.AppendUvarint([]byte{0x23}, uint64(c.countdown))
	set := binary.AppendUvarint([]byte{0x24}, uint64(c.countdown))
	out = append(out, get...)
	out = binary.AppendVarint(append(out, 0x41), int64(min(max(size, 1), yieldEvery)))
	out = append(append(append(out, 0x6b), set...), get...) // i32.sub; global.set; global.get
	out = append(out, 0x41, 0x00, 0x4c, 0x04, 0x40)         // i32.const 0; i32.le_s; if
	out = binary.AppendUvarint(append(out, 0x10), uint64(c.yield))
	out = binary.AppendUvarint(append(out, 0x23), uint64(c.stop))
	out = append(out, 0x04, 0x40, 0x00, 0x0b) // if; unreachable; end
	out = binary.AppendVarint(append(out, 0x41), yieldEvery)
	out = append(append(out, set...), 0x0b) // global.set; end
	return out
}

type moduleSection struct {
	id   byte
	body []byte
}

// sectionsRead is what instrument needs to know of a module.
type sectionsRead struct {
	sections        []moduleSection
	has             map[byte]bool
	types           int
	imports         int
	importedFuncs   int
	importedGlobals int
	definedGlobals  int
	exportNames     []string
	hasStart        bool
	start           uint32
}

// readSections splits a prechecked module into its sections and counts
// what the new global's and exports' indexes depend on.
func readSections(b []byte) (*sectionsRead, error) {
	mod := &sectionsRead{has: map[byte]bool{}}
	rest := b[8:]
	for len(rest) > 0 {
		id := rest[0]
		size, n, err := leb128(rest[1:])
		if err != nil || uint64(len(rest)-1-n) < size {
			return nil, fmt.Errorf("%w: section %d: malformed", ErrInvalid, id)
		}
		body := rest[1+n : 1+n+int(size)]
		rest = rest[1+n+int(size):]
		mod.sections = append(mod.sections, moduleSection{id, body})
		mod.has[id] = true
		r := &reader{b: body}
		switch id {
		case 1:
			mod.types = r.vec()
		case 2:
			for range r.vec() {
				mod.imports++
				switch r.importEntry() {
				case 0:
					mod.importedFuncs++
				case 3:
					mod.importedGlobals++
				}
			}
		case 6:
			mod.definedGlobals = r.vec()
		case 7:
			for range r.vec() {
				mod.exportNames = append(mod.exportNames, string(r.take(r.u32())))
				r.byte()
				r.u32()
			}
		case 8:
			mod.hasStart, mod.start = true, r.u32()
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrInvalid, id, r.err)
		}
	}
	return mod, nil
}

// sectionRank orders sections as the binary format requires them (the
// data count section comes before code, tags between memories and
// globals).
func sectionRank(id byte) int {
	if i := slices.Index([]byte{1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11}, id); i >= 0 {
		return i
	}
	return 100
}

func appendName(b []byte, name string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(name))), name...)
}

// appendToVector is a vector section's body holding count entries (old,
// nil when there is none) with added more entries appended.
func appendToVector(old []byte, count, added int, entries []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(count+added))
	if len(old) > 0 {
		_, n, _ := leb128(old)
		out = append(out, old[n:]...)
	}
	return append(out, entries...)
}

// instrumentCode is the code section with a check (appendCheck) at the
// entry of every function and after the head of every loop.
func instrumentCode(body []byte, check checkCode, ids renumbering) ([]byte, error) {
	r := &reader{b: body}
	count := r.vec()
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/4), uint64(count))
	for f := range count {
		fn := r.take(r.u32())
		if r.err != nil {
			return nil, r.err
		}
		instrumented, err := instrumentFunction(fn, check, ids)
		if err != nil {
			return nil, fmt.Errorf("function %d: %v", f, err)
		}
		out = binary.AppendUvarint(out, uint64(len(instrumented)))
		out = append(out, instrumented...)
	}
	return out, nil
}

// instruction is where one instruction of a function body starts, and,
// for a loop, how many instructions its body holds.
type instruction struct {
	start int
	op    byte
	size  int
}

// instrumentFunction copies one function body with a check after its
// locals and after every loop's block type, its calls and function
// references renumbered. A first pass finds the instructions and each
// loop's size, the second copies them.
func instrumentFunction(fn []byte, check checkCode, ids renumbering) ([]byte, error) {
	r := &reader{b: fn}
	for range r.vec() { // locals
		r.u32()
		r.valType()
	}
	if r.err != nil {
		return nil, r.err
	}
	code := len(fn) - len(r.b)
	var ins []instruction
	var open []int // the instructions that opened the blocks still open
	for len(r.b) > 0 {
		start := len(fn) - len(r.b)
		op := r.byte()
		if err := skipImmediates(r, op); err != nil {
			return nil, fmt.Errorf("instruction 0x%x at byte %d: %v", op, start, err)
		}
		if r.err != nil {
			return nil, fmt.Errorf("instruction 0x%x at byte %d: %v", op, start, r.err)
		}
		switch op {
		case 0x02, 0x03, 0x04: // block, loop, if
			open = append(open, len(ins))
		case 0x0b: // end
			if n := len(open); n > 0 {
				if opener := &ins[open[n-1]]; opener.op == 0x03 {
					opener.size = len(ins) - open[n-1]
				}
				open = open[:n-1]
			}
		}
		ins = append(ins, instruction{start: start, op: op})
	}
	out := append(make([]byte, 0, len(fn)+64*(1+len(ins)/16)), fn[:code]...)
	out = check.append(out, len(ins))
	for k, in := range ins {
		end := len(fn)
		if k+1 < len(ins) {
			end = ins[k+1].start
		}
		switch in.op {
		case 0x10, 0xd2: // call, ref.func
			f, _, _ := leb128(fn[in.start+1 : end])
			out = binary.AppendUvarint(append(out, in.op), uint64(ids.of(uint32(f))))
		default:
			out = append(out, fn[in.start:end]...)
		}
		if in.op == 0x03 {
			out = check.append(out, in.size)
		}
	}
	return out, nil
}

// skipImmediates reads the immediates of the instruction op, of the
// WebAssembly 2.0 instruction set that wazero compiles (SIMD, bulk memory,
// reference types, multiple values, sign extension, saturating
// conversions). Anything else is refused, as wazero would refuse it.
func skipImmediates(r *reader, op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		r.blockType()
	case op == 0x0c || op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		for range r.vec() + 1 {
			r.u32()
		}
	case op == 0x10: // call
		r.u32()
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select with types
		for range r.vec() {
			r.valType()
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41 || op == 0x42: // i32.const, i64.const
		r.skipLEB()
	case op == 0x43:
		r.take(4)
	case op == 0x44:
		r.take(8)
	case op == 0xd0: // ref.null
		r.valType()
	case op == 0xd2: // ref.func
		r.u32()
	case op == 0xfc:
		return skipMiscImmediates(r)
	case op == 0xfd:
		return skipVectorImmediates(r)
	case op <= 0x01 || op == 0x05 || op == 0x0b || op == 0x0f || op == 0x1a || op == 0x1b ||
		(op >= 0x45 && op <= 0xc4) || op == 0xd1:
		// no immediates
	default:
		return fmt.Errorf("not an instruction of WebAssembly 2.0")
	}
	return nil
}

// skipMiscImmediates reads a 0xfc instruction: saturating conversions,
// bulk memory and table operations.
func skipMiscImmediates(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		return fmt.Errorf("0xfc %d is not an instruction of WebAssembly 2.0", sub)
	}
	return nil
}

// skipVectorImmediates reads a 0xfd (SIMD) instruction.
func skipVectorImmediates(r *reader) error {
	switch sub := r.u32(); {
	case sub <= 0x0b || sub == 0x5c || sub == 0x5d: // loads and stores
		r.memarg()
	case sub == 0x0c || sub == 0x0d: // v128.const, i8x16.shuffle
		r.take(16)
	case sub >= 0x15 && sub <= 0x22: // extract and replace lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5b: // load and store lane
		r.memarg()
		r.byte()
	case sub <= 0xff:
		// no immediates
	default:
		return fmt.Errorf("0xfd %d is not an instruction of WebAssembly 2.0", sub)
	}
	return nil
}

// blockType reads a block type: empty, a value type, or a type index
// (a signed 33-bit number).
func (r *reader) blockType() {
	if len(r.b) == 0 {
		r.fail(errShort)
		return
	}
	switch c := r.b[0]; c {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.byte()
	case 0x63, 0x64:
		r.valType()
	default:
		r.skipLEB()
	}
}

// memarg reads a memory access's alignment, memory (when the alignment's
// bit 6 says one follows) and offset.
func (r *reader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.u32()
	}
	r.skipLEB()
}

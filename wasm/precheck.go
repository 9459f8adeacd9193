package wasm

import (
	"errors"
	"fmt"
)

// precheck walks a module's structure before wazero decodes it, and returns
// the module without its custom sections (names and other metadata, which
// a filter does not need). wazero v1.12 sizes slices from the counts a
// module declares before it reads the entries: a 17-byte module declaring
// billions of imports, an element segment declaring billions of entries
// (times 32 bytes each: the process dies), a function type with a billion
// parameters or a function with four billion locals (gigabytes, and
// seconds of appends) were all found by FuzzCompileModule; the inputs are
// kept in testdata/fuzz. Here every section must fit in the bytes that
// remain, and every count that wazero allocates by must fit in the bytes
// of its section that remain (each entry takes at least a byte); locals
// are bounded as browsers bound them.
func precheck(b []byte) ([]byte, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: it does not start with the \\0asm magic bytes", ErrNotWasm)
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, fmt.Errorf("%w: binary format version %d, want 1", ErrInvalid, b[4])
	}
	kept := append(make([]byte, 0, len(b)), b[:8]...)
	rest := b[8:]
	for len(rest) > 0 {
		start := rest
		id := rest[0]
		size, n, err := leb128(rest[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrInvalid, id, err)
		}
		rest = rest[1+n:]
		if uint64(len(rest)) < size {
			return nil, fmt.Errorf("%w: section %d claims %d bytes, only %d remain", ErrInvalid, id, size, len(rest))
		}
		body := rest[:size]
		rest = rest[size:]
		if id == 0 {
			continue // custom: dropped
		}
		if err := checkSection(id, body); err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrInvalid, id, err)
		}
		kept = append(kept, start[:1+n+int(size)]...)
	}
	return kept, nil
}

// maxLocals bounds a function's locals (V8's and SpiderMonkey's limit).
const maxLocals = 50000

// maxFunctionBytes bounds one function's body. wazero's compiler holds a
// function's whole SSA at once: a single 1.2 MB function took 978 MB of
// memory to compile and a 7.2 MB one 5 GB (the same 7.2 MB as 240
// functions: 521 MB), so a 16 MiB module of one function would take the
// machine. Compilers emit far smaller functions: the largest in the Go
// SDK's example (3.5 MB) is 29 KB, in TinyGo, Rust and Zig builds under
// 10 KB.
const maxFunctionBytes = 1 << 20

func checkSection(id byte, body []byte) error {
	r := &reader{b: body}
	switch id {
	case 1: // types
		for range r.vec() {
			if form := r.byte(); form != 0x60 {
				r.fail(fmt.Errorf("function type form 0x%x", form))
			}
			for range 2 { // parameters, results
				for range r.vec() {
					r.valType()
				}
			}
		}
	case 2: // imports
		for range r.vec() {
			r.importEntry()
		}
	case 7: // exports
		for range r.vec() {
			r.name()
			r.byte()
			r.u32()
		}
	case 9: // elements
		for range r.vec() {
			r.element()
		}
	case 10: // code
		for i := range r.vec() {
			size := r.u32()
			if size > maxFunctionBytes {
				r.fail(fmt.Errorf("the code section's function %d has a body of %d bytes, over the limit of %d (compiling a function takes about 800 times its size in memory; split it)",
					i, size, maxFunctionBytes))
				break
			}
			entry := &reader{b: r.take(size)}
			locals := uint64(0)
			for range entry.vec() {
				locals += uint64(entry.u32())
				entry.valType()
			}
			if locals > maxLocals {
				entry.fail(fmt.Errorf("a function declares %d locals, over the limit of %d", locals, maxLocals))
			}
			if entry.err != nil {
				r.fail(entry.err)
			}
		}
	case 11: // data
		for range r.vec() {
			switch flags := r.u32(); flags {
			case 0:
				r.constExpr()
			case 1:
			case 2:
				r.u32()
				r.constExpr()
			default:
				r.fail(fmt.Errorf("data segment flags %d", flags))
			}
			r.take(r.u32())
		}
	case 3, 4, 5, 6, 13: // functions, tables, memories, globals, tags: counts only
		r.vec()
	}
	return r.err
}

// reader reads a section; the first problem sticks in err, after which
// every read returns zero.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("entry runs past the end of its section")

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail(errShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u32() uint32 {
	v, n, err := leb128(r.b)
	if err != nil {
		r.fail(err)
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// skipLEB skips a signed or 64-bit LEB128 number (at most 10 bytes).
func (r *reader) skipLEB() {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail(errLEB)
}

func (r *reader) take(n uint32) []byte {
	if uint64(n) > uint64(len(r.b)) {
		r.fail(errShort)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// vec reads a vector's count, which must fit in what remains (every entry
// takes at least a byte): the count wazero allocates by.
func (r *reader) vec() int {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)) {
		r.fail(fmt.Errorf("declares %d entries in %d bytes", n, len(r.b)))
		return 0
	}
	return int(n)
}

func (r *reader) name() { r.take(r.u32()) }

// valType reads a value type: one byte, or a reference type's prefix and
// heap type.
func (r *reader) valType() {
	if c := r.byte(); c == 0x63 || c == 0x64 {
		r.skipLEB()
	}
}

func (r *reader) limits() {
	flags := r.byte()
	r.skipLEB()
	if flags&1 != 0 {
		r.skipLEB()
	}
}

// importEntry reads one import and returns its kind: 0 function, 1
// table, 2 memory, 3 global, 4 tag.
func (r *reader) importEntry() byte {
	r.name()
	r.name()
	kind := r.byte()
	switch kind {
	case 0:
		r.u32()
	case 1:
		r.valType()
		r.limits()
	case 2:
		r.limits()
	case 3:
		r.valType()
		r.byte()
	case 4:
		r.byte()
		r.u32()
	default:
		r.fail(fmt.Errorf("import kind %d", kind))
	}
	return kind
}

// constExpr skips a constant expression up to its end.
func (r *reader) constExpr() {
	for r.err == nil {
		if r.constExprOp() == 0x0b {
			return
		}
	}
}

// constExprOp skips one instruction of a constant expression and returns
// its opcode.
func (r *reader) constExprOp() byte {
	op := r.byte()
	switch op {
	case 0x0b: // end
	case 0x41, 0x42, 0x23, 0xd2: // i32.const, i64.const, global.get, ref.func
		r.skipLEB()
	case 0x43: // f32.const
		r.take(4)
	case 0x44: // f64.const
		r.take(8)
	case 0xd0: // ref.null
		r.skipLEB()
	case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constant arithmetic
	case 0xfd: // v128.const
		r.skipLEB()
		r.take(16)
	default:
		r.fail(fmt.Errorf("opcode 0x%x in a constant expression", op))
	}
	return op
}

// element reads one element segment of any of its eight forms.
func (r *reader) element() {
	flags := r.u32()
	if flags > 7 {
		r.fail(fmt.Errorf("element segment flags %d", flags))
		return
	}
	if flags&1 == 0 { // active
		if flags&2 != 0 {
			r.u32() // table
		}
		r.constExpr()
	}
	exprs := flags&4 != 0
	if flags&3 != 0 { // element kind or reference type
		if exprs {
			r.valType()
		} else {
			r.byte()
		}
	}
	for range r.vec() {
		if exprs {
			r.constExpr()
		} else {
			r.u32()
		}
	}
}

var errLEB = errors.New("malformed LEB128 number")

// leb128 decodes an unsigned LEB128 number of at most 32 bits.
func leb128(b []byte) (value uint64, n int, err error) {
	for shift := 0; n < len(b) && n < 5; shift += 7 {
		c := b[n]
		n++
		value |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return value, n, nil
		}
	}
	return 0, n, errLEB
}

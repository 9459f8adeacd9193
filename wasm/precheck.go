package wasm

import (
	"errors"
	"fmt"
)

// precheck walks a module's section headers before wazero decodes it.
// wazero v1.12 sizes some slices from the counts a module declares, so a
// 17-byte module declaring billions of imports makes it allocate gigabytes
// and kills the process (found by FuzzCompileModule; the input is kept in
// testdata/fuzz). Every section must fit in the bytes that remain, and every
// vector section's count must fit in its section (each entry takes at least
// one byte), which bounds what any decoder can be asked to allocate.
func precheck(b []byte) error {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return fmt.Errorf("%w: it does not start with the \\0asm magic bytes", ErrNotWasm)
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return fmt.Errorf("%w: binary format version %d, want 1", ErrInvalid, b[4])
	}
	b = b[8:]
	for len(b) > 0 {
		id := b[0]
		size, n, err := leb128(b[1:])
		if err != nil {
			return fmt.Errorf("%w: section %d: %v", ErrInvalid, id, err)
		}
		b = b[1+n:]
		if uint64(len(b)) < size {
			return fmt.Errorf("%w: section %d claims %d bytes, only %d remain", ErrInvalid, id, size, len(b))
		}
		body := b[:size]
		b = b[size:]
		if id >= 1 && id <= 11 && id != 8 { // vector sections (8 is start)
			count, _, err := leb128(body)
			if err != nil {
				return fmt.Errorf("%w: section %d: %v", ErrInvalid, id, err)
			}
			if count > uint64(len(body)) {
				return fmt.Errorf("%w: section %d declares %d entries in %d bytes", ErrInvalid, id, count, len(body))
			}
		}
	}
	return nil
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

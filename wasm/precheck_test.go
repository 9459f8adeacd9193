package wasm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func section(id byte, body ...byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func module(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{[]byte("\x00asm\x01\x00\x00\x00")}, sections...), nil)
}

// TestPrecheckRefusesDeclaredBombs: a few bytes declaring billions of
// entries that wazero would allocate for before reading them are refused
// with ErrInvalid naming the section; custom sections are dropped.
func TestPrecheckRefusesDeclaredBombs(t *testing.T) {
	huge := uleb(0xffffffff)
	for _, tc := range []struct {
		name     string
		module   []byte
		mentions string
	}{
		{"a function type with four billion parameters",
			module(section(1, append([]byte{1, 0x60}, huge...)...)), "section 1"},
		{"an element segment of four billion functions",
			module(section(9, append([]byte{1, 0, 0x41, 0, 0x0b}, huge...)...)), "section 9"},
		{"a function with four billion locals",
			module(section(10, append(append([]byte{1, 8, 1}, huge...), 0x7f, 0x0b)...)), "locals"},
		{"a data segment of four gigabytes",
			module(section(11, append([]byte{1, 1}, huge...)...)), "section 11"},
		{"an import with a four-gigabyte name",
			module(section(2, append([]byte{1}, huge...)...)), "section 2"},
		{"four billion tags", module(section(13, huge...)), "section 13"},
	} {
		_, err := precheck(tc.module)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %q", tc.name, err, tc.mentions)
		}
	}

	names := section(0, append(append([]byte{4}, "name"...), append([]byte{1}, huge...)...)...)
	types := section(1, 1, 0x60, 1, 0x7f, 1, 0x7f)
	kept, err := precheck(module(names, types))
	if err != nil || !bytes.Equal(kept, module(types)) {
		t.Fatalf("a module with a custom section: %x, %v; want it without the custom section", kept, err)
	}
}

// TestPrecheckBoundsAFunctionsBody: one function's body over 1 MiB is
// refused, naming the function and the limit (compiling a 1.2 MB one took
// 978 MB); the same code as many functions passes.
func TestPrecheckBoundsAFunctionsBody(t *testing.T) {
	// A body of n bytes: no locals, then nops up to end.
	body := func(n int) []byte {
		b := append(uleb(uint64(n)), 0)
		b = append(b, bytes.Repeat([]byte{0x01}, n-2)...)
		return append(b, 0x0b)
	}
	one := append([]byte{1}, body(maxFunctionBytes+1)...)
	_, err := precheck(module(section(10, one...)))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "function 0 has a body of 1048577 bytes, over the limit of 1048576") {
		t.Fatalf("one function of 1 MiB and a byte: %v, want ErrInvalid naming the function and the limit", err)
	}
	many := []byte{4}
	for range 4 {
		many = append(many, body(maxFunctionBytes/4)...)
	}
	if _, err := precheck(module(section(10, many...))); err != nil {
		t.Fatalf("four functions of 256 KiB: %v", err)
	}
}

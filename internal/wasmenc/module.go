package wasmenc

import (
	"encoding/binary"
	"math"
)

// ValType is a Wasm value type.
type ValType byte

// Value types used by the trigger compiler.
const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
	F64 ValType = 0x7c
)

// FuncType is a function signature.
type FuncType struct {
	Params  []ValType
	Results []ValType
}

// Func is a function body with its extra locals (after the parameters).
type Func struct {
	Type   uint32
	Locals []ValType
	Body   *Code
}

// Export kinds.
const (
	ExportFunc   byte = 0x00
	ExportMemory byte = 0x02
)

// Export names a function or the memory.
type Export struct {
	Name  string
	Kind  byte
	Index uint32
}

// Data is an active data segment in memory 0.
type Data struct {
	Offset uint32
	Bytes  []byte
}

// Import is an imported function. Imported functions come first in the
// function index space, before Funcs.
type Import struct {
	Module, Name string
	Type         uint32
}

// Module is a Wasm module with one memory.
type Module struct {
	Types         []FuncType
	Imports       []Import
	Funcs         []Func
	MemoryMinPage uint32
	Exports       []Export
	Data          []Data
}

// Encode returns the module's binary form.
func (m *Module) Encode() []byte {
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

	var sec []byte
	sec = appendU32(sec, uint32(len(m.Types)))
	for _, t := range m.Types {
		sec = append(sec, 0x60)
		sec = appendU32(sec, uint32(len(t.Params)))
		for _, p := range t.Params {
			sec = append(sec, byte(p))
		}
		sec = appendU32(sec, uint32(len(t.Results)))
		for _, r := range t.Results {
			sec = append(sec, byte(r))
		}
	}
	out = appendSection(out, 1, sec)

	if len(m.Imports) > 0 {
		sec = appendU32(sec[:0], uint32(len(m.Imports)))
		for _, imp := range m.Imports {
			sec = appendName(sec, imp.Module)
			sec = appendName(sec, imp.Name)
			sec = append(sec, 0x00) // function
			sec = appendU32(sec, imp.Type)
		}
		out = appendSection(out, 2, sec)
	}

	sec = appendU32(sec[:0], uint32(len(m.Funcs)))
	for _, f := range m.Funcs {
		sec = appendU32(sec, f.Type)
	}
	out = appendSection(out, 3, sec)

	sec = appendU32(sec[:0], 1)
	sec = append(sec, 0x00) // limits: min only
	sec = appendU32(sec, m.MemoryMinPage)
	out = appendSection(out, 5, sec)

	sec = appendU32(sec[:0], uint32(len(m.Exports)))
	for _, e := range m.Exports {
		sec = appendName(sec, e.Name)
		sec = append(sec, e.Kind)
		sec = appendU32(sec, e.Index)
	}
	out = appendSection(out, 7, sec)

	sec = appendU32(sec[:0], uint32(len(m.Funcs)))
	for _, f := range m.Funcs {
		var body []byte
		// Locals are run-length encoded; one run per local keeps it simple.
		body = appendU32(body, uint32(len(f.Locals)))
		for _, l := range f.Locals {
			body = appendU32(body, 1)
			body = append(body, byte(l))
		}
		body = append(body, f.Body.b...)
		body = append(body, opEnd)
		sec = appendU32(sec, uint32(len(body)))
		sec = append(sec, body...)
	}
	out = appendSection(out, 10, sec)

	if len(m.Data) > 0 {
		sec = appendU32(sec[:0], uint32(len(m.Data)))
		for _, d := range m.Data {
			sec = append(sec, 0x00, opI32Const)
			sec = appendS32(sec, int32(d.Offset))
			sec = append(sec, opEnd)
			sec = appendU32(sec, uint32(len(d.Bytes)))
			sec = append(sec, d.Bytes...)
		}
		out = appendSection(out, 11, sec)
	}
	return out
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS32(b []byte, v int32) []byte { return appendS64(b, int64(v)) }

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendF64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

package filters

import (
	"encoding/binary"
	"math"
)

// Kind is the JSON kind of a field's value in an event.
type Kind uint32

// Value kinds as laid out in a field record (GENERATED.md).
const (
	KindAbsent Kind = iota
	KindNull
	KindFalse
	KindTrue
	KindNumber
	KindString
	KindObject
	KindArray
)

// Value is one field's value, as the host extracted it from an event.
type Value struct {
	Kind Kind
	Num  float64
	Str  string
}

// Field record layout: a u32 slot count, then one 24-byte slot per field the
// program reads, then the string bytes. Offsets are from the record's start.
const (
	recordHeader   = 4
	slotSize       = 24
	slotKindOffset = 0
	slotStrOffset  = 4
	slotLenOffset  = 8
	slotNumOffset  = 16
)

// AppendRecord lays values out as the field record a compiled program reads
// (values[i] is the program's Slots[i]) and appends it to dst.
func AppendRecord(dst []byte, values []Value) []byte {
	strAt := uint32(recordHeader + slotSize*len(values))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(values)))
	for _, v := range values {
		var off, n uint32
		if v.Kind == KindString {
			off, n = strAt, uint32(len(v.Str))
			strAt += n
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.Kind))
		dst = binary.LittleEndian.AppendUint32(dst, off)
		dst = binary.LittleEndian.AppendUint32(dst, n)
		dst = binary.LittleEndian.AppendUint32(dst, 0)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Num))
	}
	for _, v := range values {
		if v.Kind == KindString {
			dst = append(dst, v.Str...)
		}
	}
	return dst
}

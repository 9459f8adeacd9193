package filters

import "github.com/hookwire/hookwire/internal/wasmenc"

// The fixed helper functions of every generated module. Each is written as
// Wasm instructions; the comments give the equivalent Go.

// hw_alloc(size): memory at heapBase big enough for size bytes, or 0.
// The host writes one record at a time, so one fixed buffer serves.
func allocBody(heapBase uint32) *wasmenc.Code {
	const size, need = 0, 1
	c := &wasmenc.Code{}
	c.I32(int32(heapBase)).Get(size).Op(wasmenc.I32Add).Set(need)
	// if need > memory.size*65536 { if memory.grow(pages) == -1 { return 0 } }
	c.Get(need).MemorySize().I32(16).Op(wasmenc.I32Shl).Op(wasmenc.I32GtU).If(wasmenc.BlockEmpty)
	c.Get(need).MemorySize().I32(16).Op(wasmenc.I32Shl).Op(wasmenc.I32Sub).
		I32(65535).Op(wasmenc.I32Add).I32(16).Op(wasmenc.I32ShrU).MemoryGrow().
		I32(-1).Op(wasmenc.I32Eq).If(wasmenc.BlockEmpty).I32(0).Op(wasmenc.Return).End()
	c.End()
	c.I32(int32(heapBase))
	return c
}

// memeq(a, b, n): the n bytes at a equal those at b.
func memEqBody() *wasmenc.Code {
	const a, b, n = 0, 1, 2
	c := &wasmenc.Code{}
	c.Block(wasmenc.BlockEmpty).Loop(wasmenc.BlockEmpty)
	c.Get(n).Op(wasmenc.I32Eqz).BrIf(1)
	c.Get(a).LoadU8(0).Get(b).LoadU8(0).Op(wasmenc.I32Ne).If(wasmenc.BlockEmpty).I32(0).Op(wasmenc.Return).End()
	c.Get(a).I32(1).Op(wasmenc.I32Add).Set(a)
	c.Get(b).I32(1).Op(wasmenc.I32Add).Set(b)
	c.Get(n).I32(1).Op(wasmenc.I32Sub).Set(n)
	c.Br(0)
	c.End().End()
	c.I32(1)
	return c
}

// Locals shared by the string helpers: (record, slot, const, constLen).
const (
	hRec, hSlot, hConst, hConstLen = 0, 1, 2, 3
)

// returnZeroUnlessString: if slot.kind != string { return 0 }
func returnZeroUnlessString(c *wasmenc.Code) {
	c.Get(hSlot).LoadI32(slotKindOffset).I32(int32(KindString)).Op(wasmenc.I32Ne).
		If(wasmenc.BlockEmpty).I32(0).Op(wasmenc.Return).End()
}

// returnZeroIfShorter: if slot.len < constLen { return 0 }
func returnZeroIfShorter(c *wasmenc.Code) {
	c.Get(hSlot).LoadI32(slotLenOffset).Get(hConstLen).Op(wasmenc.I32LtU).
		If(wasmenc.BlockEmpty).I32(0).Op(wasmenc.Return).End()
}

// pushStringStart pushes record + slot.off.
func pushStringStart(c *wasmenc.Code) {
	c.Get(hRec).Get(hSlot).LoadI32(slotStrOffset).Op(wasmenc.I32Add)
}

// str_eq: slot is a string equal to the constant.
func strEqBody() *wasmenc.Code {
	c := &wasmenc.Code{}
	returnZeroUnlessString(c)
	c.Get(hSlot).LoadI32(slotLenOffset).Get(hConstLen).Op(wasmenc.I32Ne).
		If(wasmenc.BlockEmpty).I32(0).Op(wasmenc.Return).End()
	pushStringStart(c)
	c.Get(hConst).Get(hConstLen).Call(fnMemEq)
	return c
}

// has_prefix: strings.HasPrefix(slot, const).
func hasPrefixBody() *wasmenc.Code {
	c := &wasmenc.Code{}
	returnZeroUnlessString(c)
	returnZeroIfShorter(c)
	pushStringStart(c)
	c.Get(hConst).Get(hConstLen).Call(fnMemEq)
	return c
}

// has_suffix: strings.HasSuffix(slot, const).
func hasSuffixBody() *wasmenc.Code {
	c := &wasmenc.Code{}
	returnZeroUnlessString(c)
	returnZeroIfShorter(c)
	pushStringStart(c)
	c.Get(hSlot).LoadI32(slotLenOffset).Op(wasmenc.I32Add).Get(hConstLen).Op(wasmenc.I32Sub)
	c.Get(hConst).Get(hConstLen).Call(fnMemEq)
	return c
}

// contains: strings.Contains(slot, const), by trying each start position.
func containsBody() *wasmenc.Code {
	const i, last = 4, 5
	c := &wasmenc.Code{}
	returnZeroUnlessString(c)
	returnZeroIfShorter(c)
	c.Get(hSlot).LoadI32(slotLenOffset).Get(hConstLen).Op(wasmenc.I32Sub).Set(last)
	c.Block(wasmenc.BlockEmpty).Loop(wasmenc.BlockEmpty)
	pushStringStart(c)
	c.Get(i).Op(wasmenc.I32Add).Get(hConst).Get(hConstLen).Call(fnMemEq).
		If(wasmenc.BlockEmpty).I32(1).Op(wasmenc.Return).End()
	c.Get(i).Get(last).Op(wasmenc.I32GeU).BrIf(1)
	c.Get(i).I32(1).Op(wasmenc.I32Add).Set(i)
	c.Br(0)
	c.End().End()
	c.I32(0)
	return c
}

// dfa(record, slot, table): the slot is a string that the DFA at table
// (layout in regex.go) matches somewhere.
func dfaBody() *wasmenc.Code {
	const (
		table                                  = 2
		p, end, st, r, b0, lo, hi, mid, bounds = 3, 4, 5, 6, 7, 8, 9, 10, 11
		classOf, next, flags, nclasses         = 12, 13, 14, 15
	)
	c := &wasmenc.Code{}
	returnZeroUnlessString(c)
	pushStringStart(c)
	c.Tee(p).Get(hSlot).LoadI32(slotLenOffset).Op(wasmenc.I32Add).Set(end)
	c.Get(table).LoadI32(4).Set(nclasses)
	// bounds = table+16+512; classOf = bounds + 4*B; next = classOf + 4*(B+1); flags = next + 4*S*C
	c.Get(table).I32(dfaHeader + dfaASCII).Op(wasmenc.I32Add).Set(bounds)
	c.Get(bounds).Get(table).LoadI32(0).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).Set(classOf)
	c.Get(classOf).Get(table).LoadI32(0).I32(1).Op(wasmenc.I32Add).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).Set(next)
	c.Get(next).Get(table).LoadI32(8).Get(nclasses).Op(wasmenc.I32Mul).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).Set(flags)

	c.Block(wasmenc.BlockEmpty).Loop(wasmenc.BlockEmpty)
	// if flags[st]&1 != 0 { return 1 }
	c.Get(flags).Get(st).Op(wasmenc.I32Add).LoadU8(0).I32(1).Op(wasmenc.I32And).
		If(wasmenc.BlockEmpty).I32(1).Op(wasmenc.Return).End()
	// if p >= end { break }
	c.Get(p).Get(end).Op(wasmenc.I32GeU).BrIf(1)
	decodeRune(c, p, r, b0)
	// lo = the rune's class: from the ASCII table, or classOf[number of
	// bounds <= r] found by binary search.
	c.Get(r).I32(128).Op(wasmenc.I32LtU).If(wasmenc.BlockEmpty)
	c.Get(table).Get(r).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).LoadI32(dfaHeader).Set(lo)
	c.Else()
	c.I32(0).Set(lo).Get(table).LoadI32(0).Set(hi)
	c.Block(wasmenc.BlockEmpty).Loop(wasmenc.BlockEmpty)
	c.Get(lo).Get(hi).Op(wasmenc.I32GeU).BrIf(1)
	c.Get(lo).Get(hi).Op(wasmenc.I32Add).I32(1).Op(wasmenc.I32ShrU).Set(mid)
	c.Get(bounds).Get(mid).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).LoadI32(0).Get(r).Op(wasmenc.I32LeU).
		If(wasmenc.BlockEmpty).Get(mid).I32(1).Op(wasmenc.I32Add).Set(lo).
		Else().Get(mid).Set(hi).End()
	c.Br(0)
	c.End().End()
	c.Get(classOf).Get(lo).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).LoadI32(0).Set(lo)
	c.End()
	// st = next[st*C + lo]
	c.Get(next)
	c.Get(st).Get(nclasses).Op(wasmenc.I32Mul)
	c.Get(lo)
	c.Op(wasmenc.I32Add).I32(2).Op(wasmenc.I32Shl).Op(wasmenc.I32Add).LoadI32(0).Set(st)
	c.Br(0)
	c.End().End()
	// return flags[st]>>1 & 1
	c.Get(flags).Get(st).Op(wasmenc.I32Add).LoadU8(0).I32(1).Op(wasmenc.I32ShrU).I32(1).Op(wasmenc.I32And)
	return c
}

// decodeRune reads one UTF-8 rune at p into r and advances p. The host only
// writes valid UTF-8 (JSON decoding replaces invalid bytes with U+FFFD), so
// the length follows from the first byte alone.
func decodeRune(c *wasmenc.Code, p, r, b0 uint32) {
	cont := func(off uint32, shift int32) {
		c.Get(p).LoadU8(off).I32(0x3f).Op(wasmenc.I32And)
		if shift > 0 {
			c.I32(shift).Op(wasmenc.I32Shl)
		}
		c.Op(wasmenc.I32Or)
	}
	lead := func(mask, shift int32) {
		c.Get(b0).I32(mask).Op(wasmenc.I32And).I32(shift).Op(wasmenc.I32Shl)
	}
	advance := func(n int32) { c.Get(p).I32(n).Op(wasmenc.I32Add).Set(p) }

	c.Get(p).LoadU8(0).Tee(b0).I32(0x80).Op(wasmenc.I32LtU).If(wasmenc.BlockEmpty)
	c.Get(b0).Set(r)
	advance(1)
	c.Else().Get(b0).I32(0xe0).Op(wasmenc.I32LtU).If(wasmenc.BlockEmpty)
	lead(0x1f, 6)
	cont(1, 0)
	c.Set(r)
	advance(2)
	c.Else().Get(b0).I32(0xf0).Op(wasmenc.I32LtU).If(wasmenc.BlockEmpty)
	lead(0x0f, 12)
	cont(1, 6)
	cont(2, 0)
	c.Set(r)
	advance(3)
	c.Else()
	lead(0x07, 18)
	cont(1, 12)
	cont(2, 6)
	cont(3, 0)
	c.Set(r)
	advance(4)
	c.End().End().End()
}

package filters

import (
	"fmt"
	"slices"

	"github.com/hookwire/hookwire/internal/wasmenc"
)

// Program is a stream's triggers, ready to run: the declarative ones
// compiled into one WebAssembly module, the custom ones listed for the host
// to run through their uploaded modules.
//
// The generated module exports memory, hw_alloc and hw_match like a custom
// filter, but hw_match reads a field record (AppendRecord over Slots), not
// JSON: the host extracts the fields once, the module does every
// comparison. hw_match returns the 1-based index of the first declarative
// trigger that matched (Declarative maps it to the trigger's index), or 0.
type Program struct {
	// Wasm is nil when the stream has no declarative trigger.
	Wasm []byte
	// Slots are the fields the module reads, in record order. Slots[0] is
	// always the event type.
	Slots []Field
	// Declarative[v-1] is the index among the stream's triggers of the
	// declarative trigger the module reports as verdict v.
	Declarative []int
	// Custom are the filter triggers, in order.
	Custom []CustomTrigger
	// EventTypes are the event types the module can react to, sorted: on
	// any other event it answers 0 and leaves the state alone (every
	// declarative trigger and sequence step names its type), so it need
	// not run.
	EventTypes []string
	// Keys say which events the module can react to at all, one per
	// declarative trigger or sequence step: an event that fits none of
	// them gets 0 and changes no state, so an index over the keys of many
	// streams can skip those streams.
	Keys []Key
}

// Reacts reports whether the generated module can match or change state on
// an event of type t.
func (p *Program) Reacts(t string) bool {
	_, found := slices.BinarySearch(p.EventTypes, t)
	return found
}

// Function indices and type indices of the generated module. The state
// imports come first in the index space; they are called only by counting
// and sequence triggers, which keep their progress in the session's state.
const (
	fnStateGet uint32 = iota
	fnStateSet
	fnAlloc
	fnMatch
	fnMemEq
	fnStrEq
	fnHasPrefix
	fnHasSuffix
	fnContains
	fnDFA
)

const (
	typeI32ToI32 uint32 = iota
	typeI32x2ToI32
	typeI32x3ToI32
	typeI32x4ToI32
)

// dataBase is where constants start; the first bytes stay zero so that no
// valid pointer is 0.
const dataBase = 16

// Compile validates triggers (paths under prefix) and generates their module.
func Compile(prefix string, triggers []Trigger) (*Program, error) {
	plans, custom, err := plan(prefix, triggers)
	if err != nil {
		return nil, err
	}
	if len(plans) == 0 {
		return &Program{Custom: custom}, nil
	}
	g := generator{slotIndex: map[string]int{}, strings: map[string]uint32{}}
	g.slot(Field{Root: FieldType, Text: "type"})
	match := &wasmenc.Code{}
	for i, p := range plans {
		switch {
		case len(p.steps) > 0:
			g.sequence(match, i, p)
		case p.minCount > 1:
			g.counted(match, i, p)
		default:
			match.Block(wasmenc.BlockEmpty)
			g.step(match, p)
			match.Op(wasmenc.I32Eqz).BrIf(0)
			match.I32(int32(i + 1)).Op(wasmenc.Return)
			match.End()
		}
	}
	match.I32(0)

	heapBase := align(dataBase+uint32(len(g.data)), 16)
	m := &wasmenc.Module{
		Types: []wasmenc.FuncType{
			typeI32ToI32:   {Params: i32s(1), Results: i32s(1)},
			typeI32x2ToI32: {Params: i32s(2), Results: i32s(1)},
			typeI32x3ToI32: {Params: i32s(3), Results: i32s(1)},
			typeI32x4ToI32: {Params: i32s(4), Results: i32s(1)},
		},
		Imports: []wasmenc.Import{
			{Module: "hookwire", Name: "state_get", Type: typeI32x4ToI32},
			{Module: "hookwire", Name: "state_set", Type: typeI32x4ToI32},
		},
		Funcs: []wasmenc.Func{
			{Type: typeI32ToI32, Locals: i32s(1), Body: allocBody(heapBase)},
			{Type: typeI32x2ToI32, Locals: matchLocals, Body: match},
			{Type: typeI32x3ToI32, Body: memEqBody()},
			{Type: typeI32x4ToI32, Body: strEqBody()},
			{Type: typeI32x4ToI32, Body: hasPrefixBody()},
			{Type: typeI32x4ToI32, Body: hasSuffixBody()},
			{Type: typeI32x4ToI32, Locals: i32s(2), Body: containsBody()},
			{Type: typeI32x3ToI32, Locals: i32s(13), Body: dfaBody()},
		},
		MemoryMinPage: heapBase/65536 + 1,
		Exports: []wasmenc.Export{
			{Name: "memory", Kind: wasmenc.ExportMemory},
			{Name: "hw_alloc", Kind: wasmenc.ExportFunc, Index: fnAlloc},
			{Name: "hw_match", Kind: wasmenc.ExportFunc, Index: fnMatch},
		},
	}
	if len(g.data) > 0 {
		m.Data = []wasmenc.Data{{Offset: dataBase, Bytes: g.data}}
	}
	declarative := make([]int, len(plans))
	var types []string
	var keys []Key
	for i, p := range plans {
		declarative[i] = p.index
		types = append(types, p.eventType)
		if len(p.steps) == 0 {
			keys = append(keys, keyOf(p))
		}
		for _, step := range p.steps {
			types = append(types, step.eventType)
			keys = append(keys, keyOf(step))
		}
	}
	slices.Sort(types)
	types = slices.Compact(slices.DeleteFunc(types, func(t string) bool { return t == "" }))
	return &Program{Wasm: m.Encode(), Slots: g.slots, Declarative: declarative, Custom: custom, EventTypes: types, Keys: keys}, nil
}

type generator struct {
	slots     []Field
	slotIndex map[string]int
	data      []byte
	strings   map[string]uint32
}

func (g *generator) slot(f Field) int {
	if i, ok := g.slotIndex[f.Text]; ok {
		return i
	}
	g.slots = append(g.slots, f)
	g.slotIndex[f.Text] = len(g.slots) - 1
	return len(g.slots) - 1
}

// constant places bytes in the data segment (strings deduplicated) and
// returns their address.
func (g *generator) constant(b []byte, dedupe bool) uint32 {
	if dedupe {
		if at, ok := g.strings[string(b)]; ok {
			return at
		}
	}
	for len(g.data)%4 != 0 {
		g.data = append(g.data, 0)
	}
	at := dataBase + uint32(len(g.data))
	g.data = append(g.data, b...)
	if dedupe {
		g.strings[string(b)] = at
	}
	return at
}

// pushSlot pushes the address of slot i of the record (local 0).
func pushSlot(c *wasmenc.Code, slot int) {
	c.Get(0).I32(int32(recordHeader + slotSize*slot)).Op(wasmenc.I32Add)
}

func (g *generator) stringOp(c *wasmenc.Code, slot int, fn uint32, s string) {
	at := g.constant([]byte(s), true)
	c.Get(0)
	pushSlot(c, slot)
	c.I32(int32(at)).I32(int32(len(s))).Call(fn)
}

func kindIs(c *wasmenc.Code, slot int, k Kind) {
	pushSlot(c, slot)
	c.LoadI32(slotKindOffset).I32(int32(k)).Op(wasmenc.I32Eq)
}

func (g *generator) equals(c *wasmenc.Code, slot int, v Value) {
	switch v.Kind {
	case KindString:
		g.stringOp(c, slot, fnStrEq, v.Str)
	case KindNumber:
		numberCompare(c, slot, wasmenc.F64Eq, v.Num)
	default: // null, true, false: the kind is the value
		kindIs(c, slot, v.Kind)
	}
}

func numberCompare(c *wasmenc.Code, slot int, op byte, n float64) {
	kindIs(c, slot, KindNumber)
	c.If(wasmenc.BlockI32)
	pushSlot(c, slot)
	c.LoadF64(slotNumOffset).F64(n).Op(op)
	c.Else().I32(0).End()
}

// condition leaves 1 (holds) or 0 on the stack.
func (g *generator) condition(c *wasmenc.Code, cond condition) {
	slot := g.slot(cond.field)
	switch cond.op {
	case OpEq:
		g.equals(c, slot, cond.values[0])
	case OpNeq:
		g.equals(c, slot, cond.values[0])
		c.Op(wasmenc.I32Eqz)
	case OpIn:
		for i, v := range cond.values {
			g.equals(c, slot, v)
			if i > 0 {
				c.Op(wasmenc.I32Or)
			}
		}
	case OpContains:
		g.stringOp(c, slot, fnContains, cond.values[0].Str)
	case OpNotContains:
		g.stringOp(c, slot, fnContains, cond.values[0].Str)
		c.Op(wasmenc.I32Eqz)
	case OpStartsWith:
		g.stringOp(c, slot, fnHasPrefix, cond.values[0].Str)
	case OpEndsWith:
		g.stringOp(c, slot, fnHasSuffix, cond.values[0].Str)
	case OpMatches:
		at := g.constant(cond.regex, false)
		c.Get(0)
		pushSlot(c, slot)
		c.I32(int32(at)).Call(fnDFA)
	case OpGt:
		numberCompare(c, slot, wasmenc.F64Gt, cond.values[0].Num)
	case OpGte:
		numberCompare(c, slot, wasmenc.F64Ge, cond.values[0].Num)
	case OpLt:
		numberCompare(c, slot, wasmenc.F64Lt, cond.values[0].Num)
	case OpLte:
		numberCompare(c, slot, wasmenc.F64Le, cond.values[0].Num)
	case OpExists:
		pushSlot(c, slot)
		c.LoadI32(slotKindOffset).I32(int32(KindNull)).Op(wasmenc.I32GtU)
		if !cond.want {
			c.Op(wasmenc.I32Eqz)
		}
	}
}

// step leaves 1 on the stack when the event is of the step's type and meets
// all its conditions, else 0.
func (g *generator) step(c *wasmenc.Code, p triggerPlan) {
	c.Block(wasmenc.BlockI32)
	c.I32(0) // the block's result when a check fails
	g.stringOp(c, 0, fnStrEq, p.eventType)
	c.Op(wasmenc.I32Eqz).BrIf(0)
	for _, cond := range p.conditions {
		g.condition(c, cond)
		c.Op(wasmenc.I32Eqz).BrIf(0)
	}
	c.Op(wasmenc.Drop).I32(1)
	c.End()
}

// Locals of hw_match after its two parameters.
const (
	localCount   = 2 // i32
	localTS      = 3 // f64: the event's timestamp, Unix ms
	localChanged = 4 // i32
)

var matchLocals = []wasmenc.ValType{wasmenc.I32, wasmenc.F64, wasmenc.I32}

// stateKey and scratch space for trigger i's progress.
func (g *generator) stateKey(kind string, i int) (key uint32, keyLen int32) {
	k := fmt.Sprintf("hookwire:%s:%d", kind, i)
	return g.constant([]byte(k), true), int32(len(k))
}

// counted is a trigger with min_count: each matching event adds one to a
// counter in the session's state; the trigger completes when it reaches
// min_count.
//
//	if step { n = state[key] + 1; state[key] = n; if n >= min_count { return i+1 } }
func (g *generator) counted(c *wasmenc.Code, i int, p triggerPlan) {
	key, keyLen := g.stateKey("count", i)
	scratch := g.constant(make([]byte, 4), false)
	c.Block(wasmenc.BlockEmpty)
	g.step(c, p)
	c.Op(wasmenc.I32Eqz).BrIf(0)
	c.I32(int32(scratch)).I32(0).StoreI32(0)
	c.I32(int32(key)).I32(keyLen).I32(int32(scratch)).I32(4).Call(fnStateGet).Op(wasmenc.Drop)
	c.I32(int32(scratch)).LoadI32(0).I32(1).Op(wasmenc.I32Add).Set(localCount)
	c.I32(int32(scratch)).Get(localCount).StoreI32(0)
	c.I32(int32(key)).I32(keyLen).I32(int32(scratch)).I32(4).Call(fnStateSet).Op(wasmenc.Drop)
	c.Get(localCount).I32(int32(p.minCount)).Op(wasmenc.I32LtU).BrIf(0)
	c.I32(int32(i + 1)).Op(wasmenc.Return)
	c.End()
}

// sequence is a trigger whose steps must happen in order, the last within
// the window of the first (by event timestamps). The session's state holds
// best[j], the latest start time of a partial match that has completed j
// steps (-1: none); the latest start is the one most likely to finish in
// the window, so one number per step is exact.
//
//	for j := k-1; j >= 1; j-- {
//		if best[j] >= 0 && ts >= best[j] && ts-best[j] <= within && step_j {
//			if j == k-1 { return i+1 }
//			best[j+1] = max(best[j+1], best[j])
//		}
//	}
//	if step_0 { best[1] = max(best[1], ts) }
//
// Going down means one event advances a partial match by one step only.
func (g *generator) sequence(c *wasmenc.Code, i int, p triggerPlan) {
	k := len(p.steps)
	size := int32(8 * (k - 1))
	key, keyLen := g.stateKey("sequence", i)
	scratch := g.constant(make([]byte, size), false)
	best := func(j int) { c.I32(int32(scratch)).LoadF64(uint32(8 * (j - 1))) }
	tsSlot := g.slot(Field{Root: FieldTimestamp, Text: "timestamp"})

	// Load the progress, or start from nothing.
	c.I32(int32(key)).I32(keyLen).I32(int32(scratch)).I32(size).Call(fnStateGet).I32(size).Op(wasmenc.I32Ne)
	c.If(wasmenc.BlockEmpty)
	for j := 1; j < k; j++ {
		c.I32(int32(scratch)).F64(-1).StoreF64(uint32(8 * (j - 1)))
	}
	c.End()
	c.I32(0).Set(localChanged)
	pushSlot(c, tsSlot)
	c.LoadF64(slotNumOffset).Set(localTS)

	for j := k - 1; j >= 1; j-- {
		c.Block(wasmenc.BlockEmpty)
		best(j)
		c.F64(0).Op(wasmenc.F64Lt).BrIf(0)
		c.Get(localTS)
		best(j)
		c.Op(wasmenc.F64Lt).BrIf(0)
		c.Get(localTS)
		best(j)
		c.Op(wasmenc.F64Sub).F64(p.withinMS).Op(wasmenc.F64Gt).BrIf(0)
		g.step(c, p.steps[j])
		c.Op(wasmenc.I32Eqz).BrIf(0)
		if j == k-1 {
			c.I32(int32(i + 1)).Op(wasmenc.Return)
		} else {
			c.I32(int32(scratch))
			best(j + 1)
			best(j)
			c.Op(wasmenc.F64Max).StoreF64(uint32(8 * j))
			c.I32(1).Set(localChanged)
		}
		c.End()
	}
	c.Block(wasmenc.BlockEmpty)
	g.step(c, p.steps[0])
	c.Op(wasmenc.I32Eqz).BrIf(0)
	c.I32(int32(scratch))
	best(1)
	c.Get(localTS).Op(wasmenc.F64Max).StoreF64(0)
	c.I32(1).Set(localChanged)
	c.End()

	c.Get(localChanged).If(wasmenc.BlockEmpty)
	c.I32(int32(key)).I32(keyLen).I32(int32(scratch)).I32(size).Call(fnStateSet).Op(wasmenc.Drop)
	c.End()
}

func i32s(n int) []wasmenc.ValType {
	out := make([]wasmenc.ValType, n)
	for i := range out {
		out[i] = wasmenc.I32
	}
	return out
}

func align(n, to uint32) uint32 { return (n + to - 1) / to * to }

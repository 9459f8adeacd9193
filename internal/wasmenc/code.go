package wasmenc

// Opcodes the trigger compiler emits.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opReturn      = 0x0f
	opCall        = 0x10
	opDrop        = 0x1a
	opSelect      = 0x1b
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opI32Load     = 0x28
	opF64Load     = 0x2b
	opI32Load8U   = 0x2d
	opI32Store    = 0x36
	opF64Store    = 0x39
	opMemorySize  = 0x3f
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opF64Const    = 0x44
)

// Simple opcodes without immediates, for Code.Op.
const (
	I32Eqz  byte = 0x45
	I32Eq   byte = 0x46
	I32Ne   byte = 0x47
	I32LtU  byte = 0x49
	I32GtU  byte = 0x4b
	I32LeU  byte = 0x4d
	I32GeU  byte = 0x4f
	F64Eq   byte = 0x61
	F64Ne   byte = 0x62
	F64Lt   byte = 0x63
	F64Gt   byte = 0x64
	F64Le   byte = 0x65
	F64Ge   byte = 0x66
	F64Sub  byte = 0xa1
	F64Max  byte = 0xa5
	I32Add  byte = 0x6a
	I32Sub  byte = 0x6b
	I32Mul  byte = 0x6c
	I32And  byte = 0x71
	I32Or   byte = 0x72
	I32Shl  byte = 0x74
	I32ShrU byte = 0x76
	Drop    byte = opDrop
	Select  byte = opSelect
	Return  byte = opReturn
	Unreach byte = opUnreachable
)

// Block types.
const (
	BlockEmpty byte = 0x40
	BlockI32   byte = byte(I32)
)

// Code is a function body under construction. Methods append one
// instruction each and return the Code so that short sequences read as one
// line.
type Code struct{ b []byte }

// Op appends an opcode without immediates.
func (c *Code) Op(op byte) *Code { c.b = append(c.b, op); return c }

// Block opens a block with result type bt.
func (c *Code) Block(bt byte) *Code { c.b = append(c.b, opBlock, bt); return c }

// Loop opens a loop with result type bt.
func (c *Code) Loop(bt byte) *Code { c.b = append(c.b, opLoop, bt); return c }

// If opens an if with result type bt.
func (c *Code) If(bt byte) *Code { c.b = append(c.b, opIf, bt); return c }

// Else starts the else arm.
func (c *Code) Else() *Code { c.b = append(c.b, opElse); return c }

// End closes the innermost block, loop or if.
func (c *Code) End() *Code { c.b = append(c.b, opEnd); return c }

// Br branches to the label depth levels out.
func (c *Code) Br(depth uint32) *Code { c.b = appendU32(append(c.b, opBr), depth); return c }

// BrIf branches when the popped i32 is non-zero.
func (c *Code) BrIf(depth uint32) *Code { c.b = appendU32(append(c.b, opBrIf), depth); return c }

// Call calls function index fn.
func (c *Code) Call(fn uint32) *Code { c.b = appendU32(append(c.b, opCall), fn); return c }

// Get pushes local i.
func (c *Code) Get(i uint32) *Code { c.b = appendU32(append(c.b, opLocalGet), i); return c }

// Set pops into local i.
func (c *Code) Set(i uint32) *Code { c.b = appendU32(append(c.b, opLocalSet), i); return c }

// Tee stores into local i and keeps the value.
func (c *Code) Tee(i uint32) *Code { c.b = appendU32(append(c.b, opLocalTee), i); return c }

// I32 pushes a constant.
func (c *Code) I32(v int32) *Code { c.b = appendS32(append(c.b, opI32Const), v); return c }

// F64 pushes a constant.
func (c *Code) F64(v float64) *Code { c.b = appendF64(append(c.b, opF64Const), v); return c }

// LoadI32 loads an i32 at the popped address plus offset.
func (c *Code) LoadI32(offset uint32) *Code { return c.mem(opI32Load, 2, offset) }

// LoadU8 loads a byte, zero-extended.
func (c *Code) LoadU8(offset uint32) *Code { return c.mem(opI32Load8U, 0, offset) }

// LoadF64 loads an f64.
func (c *Code) LoadF64(offset uint32) *Code { return c.mem(opF64Load, 3, offset) }

func (c *Code) mem(op byte, align, offset uint32) *Code {
	c.b = appendU32(appendU32(append(c.b, op), align), offset)
	return c
}

// StoreI32 stores an i32 (value on top, address below) at address+offset.
func (c *Code) StoreI32(offset uint32) *Code { return c.mem(opI32Store, 2, offset) }

// StoreF64 stores an f64 (value on top, address below) at address+offset.
func (c *Code) StoreF64(offset uint32) *Code { return c.mem(opF64Store, 3, offset) }

// MemorySize pushes the memory's size in pages.
func (c *Code) MemorySize() *Code { c.b = append(c.b, opMemorySize, 0x00); return c }

// MemoryGrow grows memory by the popped page count; pushes the old size or -1.
func (c *Code) MemoryGrow() *Code { c.b = append(c.b, opMemoryGrow, 0x00); return c }

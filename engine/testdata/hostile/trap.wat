;; hw_match traps at once.
(module
  (memory (export "memory") 1)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_match") (param i32 i32) (result i32) unreachable))

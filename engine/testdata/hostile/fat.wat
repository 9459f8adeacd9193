;; A filter that uses all of its 4 MiB at once (hw_init fills it) and
;; matches every event: fine alone, but enough of them must not take the
;; machine's memory; the filters' memory budget stops them.
(module
  (memory (export "memory") 64)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_init") (param i32 i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 4194304))
    (i32.const 0))
  (func (export "hw_match") (param i32 i32) (result i32) (i32.const 1)))

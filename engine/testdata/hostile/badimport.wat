;; Imports a function hookwire does not provide: refused at upload.
(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_match") (param i32 i32) (result i32) (call $fetch (i32.const 0))))

;; Asks for 2000 pages (125 MiB) up front, over the 64 MiB cap: refused at upload.
(module
  (memory (export "memory") 2000)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_match") (param i32 i32) (result i32) (i32.const 0)))

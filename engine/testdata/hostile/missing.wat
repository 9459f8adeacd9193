;; No hw_match: refused at upload.
(module
  (memory (export "memory") 1)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024)))

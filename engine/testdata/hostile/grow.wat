;; hw_match grows memory without end: the memory cap must stop it (grow
;; fails), then the call budget (it keeps trying).
(module
  (memory (export "memory") 1)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hw_match") (param i32 i32) (result i32)
    (loop $more
      (drop (memory.grow (i32.const 16)))
      (br $more))
    (i32.const 0)))

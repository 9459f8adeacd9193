;; A filter that keeps another 64 KiB in the session's state at every
;; event (keys "kA", "kB", ...) and matches when state_set refuses one:
;; what one session may hold is bounded per stream and across its streams.
(module
  (import "hookwire" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "hookwire" "state_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  ;; the event goes at 128 KiB; the value to keep is the 64 KiB at 64 KiB
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 131072))
  ;; the counter's key "n" at 0, its value at 8, the value's key at 16
  (data (i32.const 0) "n")
  (func (export "hw_match") (param i32 i32) (result i32)
    (local $n i32)
    (if (i32.eq (call $get (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 4)) (i32.const 4))
      (then (local.set $n (i32.load (i32.const 8)))))
    (i32.store8 (i32.const 16) (i32.const 107))
    (i32.store8 (i32.const 17) (i32.add (i32.const 65) (local.get $n)))
    (if (i32.ne (call $set (i32.const 16) (i32.const 2) (i32.const 65536) (i32.const 65534)) (i32.const 0))
      (then (return (i32.const 1))))
    (i32.store (i32.const 8) (i32.add (local.get $n) (i32.const 1)))
    (drop (call $set (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 4)))
    (i32.const 0)))

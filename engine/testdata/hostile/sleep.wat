;; sleep: hw_match asks WASI for an hour's sleep (poll_oneoff on the
;; monotonic clock), then answers "match". Its budget must end the sleep,
;; and a verdict after the budget must not count.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "hw_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "hw_match") (param i32 i32) (result i32)
    ;; one subscription at 0: userdata, tag 0 (clock), clock id 1
    ;; (monotonic), timeout 3600 s, precision 0, flags 0 (relative)
    (i64.store (i32.const 0) (i64.const 0))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (i64.store (i32.const 32) (i64.const 0))
    (i32.store16 (i32.const 40) (i32.const 0))
    (drop (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))
    (i32.const 1)))

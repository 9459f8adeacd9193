;; rage3: an example hookwire filter in WebAssembly text.
;; Matches a session's third rage_click: it keeps a counter in the session's
;; state (state_get/state_set), so the count survives restarts.
;; Build: wat2wasm rage3.wat -o rage3.wasm
;;
;; It looks for "type":"rage_click" in the event JSON, which hookwire writes
;; compactly with type before properties (filters/ABI.md, "The event").
(module
  (import "hookwire" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "hookwire" "state_set" (func $state_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 16: the needle (19 bytes); 48: the state key (11 bytes); 64: the
  ;; counter's scratch word; 1024: where the host writes the event.
  (data (i32.const 16) "\"type\":\"rage_click\"")
  (data (i32.const 48) "rage_clicks")

  ;; hw_alloc: one input buffer at 1024, memory grown to fit.
  (func (export "hw_alloc") (param $size i32) (result i32)
    (local $need i32) (local $have i32)
    (local.set $need (i32.add (i32.const 1024) (local.get $size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.div_u (i32.add (i32.sub (local.get $need) (local.get $have)) (i32.const 65535))
                                      (i32.const 65536)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1024))

  ;; contains(p, n, c, cn): the cn bytes at c occur in the n bytes at p.
  (func $contains (param $p i32) (param $n i32) (param $c i32) (param $cn i32) (result i32)
    (local $i i32) (local $j i32)
    (if (i32.lt_u (local.get $n) (local.get $cn)) (then (return (i32.const 0))))
    (block $done
      (loop $outer
        (br_if $done (i32.gt_u (local.get $i) (i32.sub (local.get $n) (local.get $cn))))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (if (i32.eq (local.get $j) (local.get $cn)) (then (return (i32.const 1))))
            (br_if $mismatch
              (i32.ne (i32.load8_u (i32.add (local.get $p) (i32.add (local.get $i) (local.get $j))))
                      (i32.load8_u (i32.add (local.get $c) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const 0))

  (func (export "hw_match") (param $p i32) (param $n i32) (result i32)
    (local $count i32)
    (if (i32.eqz (call $contains (local.get $p) (local.get $n) (i32.const 16) (i32.const 19)))
      (then (return (i32.const 0))))
    ;; count = the stored 4-byte little-endian counter (0 when absent) + 1
    (i32.store (i32.const 64) (i32.const 0))
    (drop (call $state_get (i32.const 48) (i32.const 11) (i32.const 64) (i32.const 4)))
    (local.set $count (i32.add (i32.load (i32.const 64)) (i32.const 1)))
    (i32.store (i32.const 64) (local.get $count))
    (if (i32.ne (call $state_set (i32.const 48) (i32.const 11) (i32.const 64) (i32.const 4)) (i32.const 0))
      (then (return (i32.const -1))))
    (i32.eq (local.get $count) (i32.const 3)))
)

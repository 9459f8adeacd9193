;; signal: the load harness's custom filter. It matches an event whose
;; "name" is the trigger's config (a JSON string, e.g. "signal-3"), by
;; looking for "name":"signal-3" in the event JSON, which hookwire writes
;; compactly (filters/ABI.md, "The event"). The harness scopes its triggers
;; to custom events ({"filter": "bench-signal", "event": "custom", ...}).
;; Build: wat2wasm signal.wat -o signal.wasm (the harness does it).
(module
  (memory (export "memory") 1)

  ;; 16: "name": (7 bytes), then the config; the needle is both, at 16.
  ;; 1024: where the host writes the config and then each event.
  (data (i32.const 16) "\"name\":")
  (global $needle_len (mut i32) (i32.const 0))

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

  ;; hw_init: the config must be a JSON string of at most 512 bytes.
  (func (export "hw_init") (param $p i32) (param $n i32) (result i32)
    (if (i32.or (i32.lt_u (local.get $n) (i32.const 3)) (i32.gt_u (local.get $n) (i32.const 512)))
      (then (return (i32.const 1))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)) ;; '"'
      (then (return (i32.const 1))))
    (memory.copy (i32.const 23) (local.get $p) (local.get $n))
    (global.set $needle_len (i32.add (i32.const 7) (local.get $n)))
    (i32.const 0))

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
    (if (i32.eqz (global.get $needle_len)) (then (return (i32.const -1))))
    (call $contains (local.get $p) (local.get $n) (i32.const 16) (global.get $needle_len)))
)

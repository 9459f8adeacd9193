;; count: the load harness's stateful filter. Every event it sees adds one
;; to a counter in the session's state (state_get, then state_set), and it
;; matches when the counter reaches the trigger's config, a JSON integer
;; (e.g. 3: the session's third such event). The harness scopes it to
;; click events with a count no session reaches, so that it measures what
;; a filter that keeps state on a common event costs.
;; Build: wat2wasm count.wat -o count.wasm (the harness does it).
(module
  (import "hookwire" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "hookwire" "state_set" (func $state_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 16: the state key (1 byte); 32: the counter, 4 bytes little-endian;
  ;; 1024: where the host writes the config and then each event.
  (data (i32.const 16) "n")
  (global $target (mut i32) (i32.const 0))

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

  ;; hw_init: the config must be a positive JSON integer of at most 9 digits.
  (func (export "hw_init") (param $p i32) (param $n i32) (result i32)
    (local $i i32) (local $c i32) (local $v i32)
    (if (i32.or (i32.eqz (local.get $n)) (i32.gt_u (local.get $n) (i32.const 9)))
      (then (return (i32.const 1))))
    (block $done
      (loop $digit
        (br_if $done (i32.eq (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (if (i32.or (i32.lt_u (local.get $c) (i32.const 48)) (i32.gt_u (local.get $c) (i32.const 57)))
          (then (return (i32.const 1))))
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $digit)))
    (if (i32.eqz (local.get $v)) (then (return (i32.const 1))))
    (global.set $target (local.get $v))
    (i32.const 0))

  ;; hw_match: count this event; a match when the count reaches the target.
  (func (export "hw_match") (param $p i32) (param $n i32) (result i32)
    (local $count i32)
    (if (i32.eqz (global.get $target)) (then (return (i32.const -1))))
    (i32.store (i32.const 32) (i32.const 0))
    (if (i32.ne (call $state_get (i32.const 16) (i32.const 1) (i32.const 32) (i32.const 4)) (i32.const 4))
      (then (i32.store (i32.const 32) (i32.const 0)))) ;; absent (or not ours): from zero
    (local.set $count (i32.add (i32.load (i32.const 32)) (i32.const 1)))
    (i32.store (i32.const 32) (local.get $count))
    (if (i32.lt_s (call $state_set (i32.const 16) (i32.const 1) (i32.const 32) (i32.const 4)) (i32.const 0))
      (then (return (i32.const -2))))
    (i32.eq (local.get $count) (global.get $target)))
)

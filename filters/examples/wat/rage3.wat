;; rage3: an example hookwire filter in WebAssembly text.
;; Matches a session's third rage_click: it keeps a counter in the session's
;; state (state_get/state_set), so the count survives restarts.
;; Build: wat2wasm rage3.wat -o rage3.wasm
;;
;; hookwire writes the event compactly, its members in a fixed order: id and
;; session_id (strings) come before type (filters/ABI.md, "The event"). A
;; quote inside a string is written \", so "type":" cannot occur inside
;; them: its first occurrence is the event's own type, and what follows it
;; up to the next quote is the type's name. (A "type" among the properties
;; comes later, and is not looked at.)
(module
  (import "hookwire" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "hookwire" "state_set" (func $state_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 16: the member's opening (8 bytes); 32: the type wanted, with its
  ;; closing quote (11 bytes); 48: the state key (11 bytes); 64: the
  ;; counter's scratch word; 1024: where the host writes the event.
  (data (i32.const 16) "\"type\":\"")
  (data (i32.const 32) "rage_click\"")
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

  ;; index(p, n, c, cn): where the cn bytes at c first occur in the n bytes
  ;; at p, or -1.
  (func $index (param $p i32) (param $n i32) (param $c i32) (param $cn i32) (result i32)
    (local $i i32)
    (if (i32.lt_u (local.get $n) (local.get $cn)) (then (return (i32.const -1))))
    (block $done
      (loop $outer
        (br_if $done (i32.gt_u (local.get $i) (i32.sub (local.get $n) (local.get $cn))))
        (if (call $equal (i32.add (local.get $p) (local.get $i)) (local.get $c) (local.get $cn))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const -1))

  ;; equal(a, b, n): the n bytes at a are the n bytes at b.
  (func $equal (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $j i32)
    (block $differ
      (loop $next
        (if (i32.eq (local.get $j) (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ
          (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $j)))
                  (i32.load8_u (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func (export "hw_match") (param $p i32) (param $n i32) (result i32)
    (local $count i32) (local $at i32)
    ;; at = just past the first "type":" (-1: no type, no match)
    (local.set $at (call $index (local.get $p) (local.get $n) (i32.const 16) (i32.const 8)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $at (i32.add (local.get $at) (i32.const 8)))
    ;; the type is rage_click when rage_click" follows, within the event
    (if (i32.gt_u (i32.add (local.get $at) (i32.const 11)) (local.get $n)) (then (return (i32.const 0))))
    (if (i32.eqz (call $equal (i32.add (local.get $p) (local.get $at)) (i32.const 32) (i32.const 11)))
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

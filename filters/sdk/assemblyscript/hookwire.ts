// hookwire.ts: the hookwire_v1 filter ABI for AssemblyScript.
//
// Import it from a filter's entry file and re-export the allocator:
//
//   import { Event, stateGet, stateSet } from "<path to>/filters/sdk/assemblyscript/hookwire";
//   export { hw_alloc } from "<path to>/filters/sdk/assemblyscript/hookwire";
//
//   export function hw_match(ptr: usize, len: i32): i32 {
//     const event = new Event(ptr, len);
//     return event.find("url").contains("/pricing") ? 1 : 0;
//   }
//
// Lookups read the event's JSON where the host wrote it: nothing is parsed
// ahead, and only the strings a filter asks for become AssemblyScript
// strings, with their escapes decoded. The ABI itself is filters/ABI.md.

@external("hookwire", "state_get")
declare function host_state_get(kptr: usize, klen: i32, vptr: usize, vcap: i32): i32;
@external("hookwire", "state_set")
declare function host_state_set(kptr: usize, klen: i32, vptr: usize, vlen: i32): i32;
@external("hookwire", "log")
declare function host_log(ptr: usize, len: i32): void;

// hw_alloc: memory outside the garbage collector, which the host writes
// the config and events into (it asks again only when an event outgrows
// the last buffer).
export function hw_alloc(size: i32): usize {
  return heap.alloc(<usize>max(size, 1));
}

// stateGet is this session's value for key (per stream), or null.
export function stateGet(key: string): ArrayBuffer | null {
  const k = String.UTF8.encode(key);
  let value = new ArrayBuffer(64);
  let n = host_state_get(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength);
  if (n < 0) return null;
  if (n > value.byteLength) {
    value = new ArrayBuffer(n);
    n = host_state_get(changetype<usize>(k), k.byteLength, changetype<usize>(value), n);
  }
  return value.slice(0, n);
}

// stateSet stores value for key: false when refused (the limits of
// filters/ABI.md).
export function stateSet(key: string, value: ArrayBuffer): bool {
  const k = String.UTF8.encode(key);
  return host_state_set(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength) == 0;
}

// log writes a line to hookwire's log, which names the stream and session.
export function log(line: string): void {
  const b = String.UTF8.encode(line);
  host_log(changetype<usize>(b), b.byteLength);
}

export enum Kind { Absent, String, Number, True, False, Null, Object, Array, Malformed }

// Value is a JSON value where it lies: for a string, its bytes between
// the quotes, escapes as written; for the others, the whole value.
export class Value {
  constructor(public kind: Kind, public ptr: usize, public len: i32, public escaped: bool) {}

  // text is a string value's text, escapes decoded, or null.
  text(): string | null {
    if (this.kind != Kind.String) return null;
    if (!this.escaped) return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len);
    const out = new Uint8Array(this.len);
    let n = 0;
    const end = this.ptr + <usize>this.len;
    for (let p = this.ptr; p < end; ) {
      let c = load<u8>(p++);
      if (c != 0x5c || p >= end) {
        out[n++] = c;
        continue;
      }
      c = load<u8>(p++);
      if (c == 0x62) out[n++] = 0x08;
      else if (c == 0x66) out[n++] = 0x0c;
      else if (c == 0x6e) out[n++] = 0x0a;
      else if (c == 0x72) out[n++] = 0x0d;
      else if (c == 0x74) out[n++] = 0x09;
      else if (c != 0x75) out[n++] = c; // '"', '\\', '/'
      else {
        let cp = hex4(p, end);
        if (cp < 0) {
          out[n++] = 0x3f; // '?'
          continue;
        }
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {
          const low = end - p >= 6 && load<u8>(p) == 0x5c && load<u8>(p + 1) == 0x75 ? hex4(p + 2, end) : -1;
          if (low >= 0xdc00 && low < 0xe000) {
            p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else {
            cp = 0xfffd; // a lone surrogate, as Go's decoder reads it
          }
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          cp = 0xfffd;
        }
        if (cp < 0x80) {
          out[n++] = <u8>cp;
        } else if (cp < 0x800) {
          out[n++] = <u8>(0xc0 | (cp >> 6));
          out[n++] = <u8>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
          out[n++] = <u8>(0xe0 | (cp >> 12));
          out[n++] = <u8>(0x80 | ((cp >> 6) & 0x3f));
          out[n++] = <u8>(0x80 | (cp & 0x3f));
        } else {
          out[n++] = <u8>(0xf0 | (cp >> 18));
          out[n++] = <u8>(0x80 | ((cp >> 12) & 0x3f));
          out[n++] = <u8>(0x80 | ((cp >> 6) & 0x3f));
          out[n++] = <u8>(0x80 | (cp & 0x3f));
        }
      }
    }
    return String.UTF8.decodeUnsafe(out.dataStart, <usize>n);
  }

  // equals, startsWith, endsWith and contains compare a string value's
  // text with s; false when the value is not a string. An ASCII s is
  // compared with the value's bytes where they lie (its text would be a
  // new string each time: two allocations and a decoding per comparison).
  equals(s: string): bool {
    if (this.plainFor(s)) return this.len == s.length && asciiAt(this.ptr, s);
    const t = this.text();
    return t != null && t == s;
  }
  startsWith(s: string): bool {
    if (this.plainFor(s)) return this.len >= s.length && asciiAt(this.ptr, s);
    const t = this.text();
    return t != null && t.startsWith(s);
  }
  endsWith(s: string): bool {
    if (this.plainFor(s)) return this.len >= s.length && asciiAt(this.ptr + <usize>(this.len - s.length), s);
    const t = this.text();
    return t != null && t.endsWith(s);
  }
  contains(s: string): bool {
    if (this.plainFor(s)) {
      const n = s.length;
      if (n == 0) return true;
      const first = <u8>s.charCodeAt(0);
      const last = this.ptr + <usize>(this.len - n);
      for (let p = this.ptr; p <= last && this.len >= n; p++) {
        if (load<u8>(p) == first && asciiAt(p, s)) return true;
      }
      return false;
    }
    const t = this.text();
    return t != null && t.includes(s);
  }

  // plainFor is whether s can be compared with this value's bytes: the
  // value is a string without escapes and s is ASCII (in UTF-8 an ASCII
  // byte is always that character, never part of another).
  private plainFor(s: string): bool {
    if (this.kind != Kind.String || this.escaped) return false;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) return false;
    }
    return true;
  }

  // millis reads a string value in RFC 3339, as hookwire writes every
  // event's timestamp ("2026-11-27T12:00:00.123Z"; a fraction of any
  // length and an offset such as "+01:00" are read too), as Unix
  // milliseconds; NaN for any other value. It reads the bytes where they
  // lie: Date.fromString of the text cost the example 2.4 µs an event.
  millis(): f64 {
    if (this.kind != Kind.String) return NaN;
    if (!this.escaped) return rfc3339Millis(this.ptr, <usize>this.len);
    const b = String.UTF8.encode(this.text()!);
    return rfc3339Millis(changetype<usize>(b), <usize>b.byteLength);
  }

  // number is a number value as an f64 (NaN when it is not one).
  number(): f64 {
    if (this.kind != Kind.Number) return NaN;
    return parseFloat(String.UTF8.decodeUnsafe(this.ptr, <usize>this.len));
  }

  // found is whether the lookup found something.
  get found(): bool {
    return this.kind != Kind.Absent && this.kind != Kind.Malformed;
  }
}

// Event is a JSON document in memory: the event hw_match is given, or the
// config hw_init is.
export class Event {
  constructor(public ptr: usize, public len: i32) {}

  // find looks up a path of member names separated by dots ("type",
  // "properties.price", "user.email"; a number steps into an array:
  // "properties.items.0.sku"). Its kind is Absent when the path is not
  // there (or leads through something that is not an object or array),
  // Malformed when the document is broken on the way. Member names are
  // compared with their escapes decoded; of a member named twice the last
  // counts, as in JSON.parse, encoding/json and hookwire's own triggers.
  find(path: string): Value {
    const pathEnd = pathBytes(path);
    let j = this.ptr;
    const end = this.ptr + <usize>this.len;
    j = space(j, end);
    if (j < end && load<u8>(j) != 0x7b && load<u8>(j) != 0x5b) {
      return skip(j, end) ? absent() : malformed();
    }
    for (let seg = pathBuffer; ; ) {
      let segEnd = seg;
      while (segEnd < pathEnd && load<u8>(segEnd) != 0x2e) segEnd++; // up to the next "."
      const segLen = segEnd - seg;
      if (j >= end) return malformed();
      const open = load<u8>(j);
      if (open != 0x7b && open != 0x5b) return absent();
      const object = open == 0x7b;
      const close: u8 = object ? 0x7d : 0x5d;
      let index = -1;
      if (!object) {
        if (segLen == 0 || segLen > 9) return absent();
        index = 0;
        for (let d = seg; d < segEnd; d++) {
          const c = <i32>load<u8>(d);
          if (c < 0x30 || c > 0x39) return absent();
          index = index * 10 + (c - 0x30);
        }
      }
      let k = space(j + 1, end);
      if (k < end && load<u8>(k) == close) return absent();
      let found: usize = 0; // where the value of the last member matched starts
      let have = false;
      for (let at = 0; ; at++) {
        let match = at == index;
        if (object) {
          if (!skip(k, end) || skipped.kind != Kind.String) return malformed();
          match = skipped.escaped
            ? escapedNameIs(seg, segLen)
            : <usize>skipped.len == segLen && memory.compare(skipped.ptr, seg, segLen) == 0;
          k = space(skipped.end, end);
          if (k >= end || load<u8>(k) != 0x3a) return malformed();
          k++;
        }
        if (match) {
          found = k;
          have = true;
          if (!object || !mayRepeat(k, end, seg, segLen)) break;
        }
        if (!skip(k, end)) return malformed();
        k = space(skipped.end, end);
        if (k < end && load<u8>(k) == 0x2c) {
          k++;
          continue;
        }
        if (k < end && load<u8>(k) == close) {
          if (!have) return absent();
          break;
        }
        return malformed();
      }
      if (segEnd == pathEnd) return skip(found, end) ? skippedValue() : malformed();
      j = space(found, end);
      seg = segEnd + 1;
    }
    return absent(); // not reached: the last segment returns
  }
}

// pathBuffer holds the path of the lookup in progress as UTF-8, outside
// the garbage collector: find splits it where it lies (a split and an
// encoding per segment had been three allocations per lookup). pathBytes
// writes path there and returns where it ends.
let pathBuffer: usize = 0;
let pathCapacity: usize = 0;

function pathBytes(path: string): usize {
  const n = <usize>path.length;
  growPath(n);
  for (let i: usize = 0; i < n; i++) {
    const c = path.charCodeAt(<i32>i);
    if (c >= 0x80) {
      const b = String.UTF8.encode(path); // not ASCII: the slow way
      const m = <usize>b.byteLength;
      growPath(m);
      memory.copy(pathBuffer, changetype<usize>(b), m);
      return pathBuffer + m;
    }
    store<u8>(pathBuffer + i, <u8>c);
  }
  return pathBuffer + n;
}

function growPath(n: usize): void {
  if (pathCapacity >= n) return;
  pathBuffer = pathBuffer == 0 ? heap.alloc(n) : heap.realloc(pathBuffer, n);
  pathCapacity = n;
}

// escapedNameIs is whether the member name skip read last, which has
// escapes, is the n bytes at seg once they are decoded.
function escapedNameIs(seg: usize, n: usize): bool {
  const name = String.UTF8.encode(skippedValue().text()!);
  return <usize>name.byteLength == n && memory.compare(changetype<usize>(name), seg, n) == 0;
}

// asciiAt is whether the bytes at p are s, which is ASCII.
function asciiAt(p: usize, s: string): bool {
  for (let i = 0; i < s.length; i++) {
    if (<i32>load<u8>(p + <usize>i) != s.charCodeAt(i)) return false;
  }
  return true;
}

// rfc3339Millis reads the n bytes at p as a time in RFC 3339's grammar
// (Go's time.Parse also takes a few forms outside it, a one-digit hour or
// a comma before the fraction: NaN here), in Unix milliseconds (a
// fraction past them is cut off, as time.Time.UnixMilli does); NaN if they
// are not one.
function rfc3339Millis(p: usize, n: usize): f64 {
  if (n < 20) return NaN;
  const year = digits(p, 4), month = digits(p + 5, 2), day = digits(p + 8, 2);
  const hour = digits(p + 11, 2), minute = digits(p + 14, 2), second = digits(p + 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 ||
      load<u8>(p + 4) != 0x2d || load<u8>(p + 7) != 0x2d || load<u8>(p + 10) != 0x54 ||
      load<u8>(p + 13) != 0x3a || load<u8>(p + 16) != 0x3a) {
    return NaN;
  }
  let q = p + 19;
  const end = p + n;
  let millis: i64 = 0;
  if (end - q >= 2 && load<u8>(q) == 0x2e && digits(q + 1, 1) >= 0) {
    q++;
    for (let place = 0; q < end && digits(q, 1) >= 0; q++, place++) {
      if (place < 3) millis = millis * 10 + <i64>digits(q, 1);
    }
    for (let k = <i32>(q - p) - 20; k < 3; k++) millis *= 10; // fewer than three digits
  }
  let offset: i64 = 0; // minutes east of UTC
  if (end - q == 1 && load<u8>(q) == 0x5a) {
    // UTC
  } else if (end - q == 6 && (load<u8>(q) == 0x2b || load<u8>(q) == 0x2d) && load<u8>(q + 3) == 0x3a) {
    const oh = digits(q + 1, 2), om = digits(q + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offset = <i64>(oh * 60 + om) * (load<u8>(q) == 0x2d ? -1 : 1);
  } else {
    return NaN;
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + <i64>(hour * 3600 + minute * 60 + second) - offset * 60;
  return <f64>(seconds * 1000 + millis);
}

// digits is the n decimal digits at p as a number, or -1.
function digits(p: usize, n: i32): i32 {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = <i32>load<u8>(p + <usize>k) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysIn(year: i32, month: i32): i32 {
  if (month == 2) return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28;
  return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

// daysFromCivil is the days from 1970-01-01 to a date of the proleptic
// Gregorian calendar (Howard Hinnant's algorithm).
function daysFromCivil(year: i32, month: i32, day: i32): i64 {
  const y = <i64>(month <= 2 ? year - 1 : year);
  const era = (y >= 0 ? y : y - 399) / 400;
  const yearOfEra = y - era * 400;
  const dayOfYear = <i64>((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1);
  const dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

// mayRepeat reports whether a member with the n-byte name at at could
// come again in [p, end), the document after the one found: the name's
// bytes or an escape are there (hookwire's own lookups take the same shortcut). Most
// lookups find neither and stop at the member they found; the others walk
// on to the object's end for the last of that name.
function mayRepeat(p: usize, end: usize, at: usize, n: usize): bool {
  if (n == 0) return true;
  const first = load<u8>(at);
  // Eight places a step, each tested for a backslash and for the name's
  // first two bytes (a letter alone is in most words of text): in a
  // filter, every loop step costs the deadline's check too.
  const ones: u64 = 0x0101010101010101;
  const highs: u64 = 0x8080808080808080;
  const backslashes = ones * 0x5c;
  const firsts = ones * <u64>first;
  const seconds = ones * <u64>(n > 1 ? load<u8>(at + 1) : first);
  while (p < end) {
    while (p + 9 <= end) {
      const w = load<u64>(p);
      const b = w ^ backslashes;
      const f = (w ^ firsts) | (n > 1 ? load<u64>(p + 1) ^ seconds : 0);
      if (((((b - ones) & ~b) | ((f - ones) & ~f)) & highs) != 0) break;
      p += 8;
    }
    const stop = p + 8 < end ? p + 8 : end;
    for (; p < stop; p++) {
      const c = load<u8>(p);
      if (c == 0x5c || (c == first && end - p >= n && memory.compare(p, at, n) == 0)) return true;
    }
  }
  return false;
}

function absent(): Value {
  return new Value(Kind.Absent, 0, 0, false);
}

function malformed(): Value {
  return new Value(Kind.Malformed, 0, 0, false);
}

function space(p: usize, end: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    p++;
  }
  return p;
}

function hex4(p: usize, end: usize): i32 {
  if (end - p < 4) return -1;
  let v = 0;
  for (let k: usize = 0; k < 4; k++) {
    const h = <i32>load<u8>(p + k);
    v <<= 4;
    if (h >= 0x30 && h <= 0x39) v |= h - 0x30;
    else if (h >= 0x61 && h <= 0x66) v |= h - 0x61 + 10;
    else if (h >= 0x41 && h <= 0x46) v |= h - 0x41 + 10;
    else return -1;
  }
  return v;
}

// skipped is what skip read last: kept in one place, not allocated per
// value, as a lookup steps over every member before the one it wants.
class Skipped {
  kind: Kind = Kind.Absent;
  ptr: usize = 0;
  len: i32 = 0;
  escaped: bool = false;
  end: usize = 0; // past the value (and a string's closing quote)
}
const skipped = new Skipped();

function skippedValue(): Value {
  return new Value(skipped.kind, skipped.ptr, skipped.len, skipped.escaped);
}

function read(kind: Kind, ptr: usize, len: usize, escaped: bool, end: usize): bool {
  skipped.kind = kind;
  skipped.ptr = ptr;
  skipped.len = <i32>len;
  skipped.escaped = escaped;
  skipped.end = end;
  return true;
}

// skip reads the value at p (after space) into skipped, or returns false
// when there is none or the document ends inside it. A string's value
// starts after its opening quote and ends before its closing one. Objects
// and arrays are stepped over by counting brackets outside strings: what
// hookwire writes is well formed.
function skip(p: usize, end: usize): bool {
  p = space(p, end);
  if (p >= end) return false;
  const start = p;
  const c = load<u8>(p);
  if (c == 0x22) {
    let escaped = false;
    for (p++; p < end; p++) {
      const d = load<u8>(p);
      if (d == 0x5c) {
        escaped = true;
        p++;
      } else if (d == 0x22) {
        return read(Kind.String, start + 1, p - start - 1, escaped, p + 1);
      }
    }
    return false;
  }
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    for (; p < end; p++) {
      const d = load<u8>(p);
      if (d == 0x22) {
        for (p++; p < end && load<u8>(p) != 0x22; p++) {
          if (load<u8>(p) == 0x5c) p++;
        }
        if (p >= end) return false;
      } else if (d == 0x7b || d == 0x5b) {
        depth++;
      } else if ((d == 0x7d || d == 0x5d) && --depth == 0) {
        return read(c == 0x7b ? Kind.Object : Kind.Array, start, p + 1 - start, false, p + 1);
      }
    }
    return false;
  }
  if (word(p, end, "true")) return read(Kind.True, start, 4, false, p + 4);
  if (word(p, end, "false")) return read(Kind.False, start, 5, false, p + 5);
  if (word(p, end, "null")) return read(Kind.Null, start, 4, false, p + 4);
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
    while (p < end) {
      const d = load<u8>(p);
      if (!(d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45 || (d >= 0x30 && d <= 0x39))) break;
      p++;
    }
    return read(Kind.Number, start, p - start, false, p);
  }
  return false;
}

function word(p: usize, end: usize, w: string): bool {
  const n = <usize>w.length;
  if (end - p < n) return false;
  for (let k: usize = 0; k < n; k++) {
    if (<i32>load<u8>(p + k) != w.charCodeAt(<i32>k)) return false;
  }
  return true;
}

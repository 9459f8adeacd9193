// probe: the AssemblyScript SDK's lookups exported one by one, for
// sdk_test.go to compare with Go's encoding/json. Strings come as UTF-8
// (pointer, length) in memory the test wrote through hw_alloc.
import { Event, Kind } from "../hookwire";
export { hw_alloc } from "../hookwire";

// The last lookup, read by the test at probe_result(): kind, offset of the
// value from the document's start, length, escaped, text length (i64),
// number ok, padding, number (f64).
const result = memory.data(40);

export function probe_result(): usize {
  return result;
}

function str(ptr: usize, len: i32): string {
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

export function probe_find(doc: usize, len: i32, path: usize, pathLen: i32): i32 {
  const v = new Event(doc, len).find(str(path, pathLen));
  const found = v.found ? 1 : v.kind == Kind.Malformed ? -1 : 0;
  store<i32>(result, found == 1 ? <i32>v.kind : 0);
  store<u32>(result, found == 1 ? <u32>(v.ptr - doc) : 0, 4);
  store<u32>(result, found == 1 ? <u32>v.len : 0, 8);
  store<i32>(result, v.escaped ? 1 : 0, 12);
  const text = v.text();
  store<i64>(result, text == null ? -1 : <i64>String.UTF8.byteLength(text), 16);
  const number = v.number();
  store<i32>(result, isNaN(number) ? 0 : 1, 24);
  store<f64>(result, number, 32);
  return found;
}

// probe_text writes the found string's text to dst as UTF-8: its length,
// -1 when it is not a string or does not fit, -2 when not found.
export function probe_text(doc: usize, len: i32, path: usize, pathLen: i32, dst: usize, cap: i32): i32 {
  const v = new Event(doc, len).find(str(path, pathLen));
  if (!v.found) return -2;
  const text = v.text();
  if (text == null) return -1;
  const b = String.UTF8.encode(text);
  if (b.byteLength > cap) return -1;
  memory.copy(dst, changetype<usize>(b), <usize>b.byteLength);
  return b.byteLength;
}

// probe_compare applies comparison op (0 equals, 1 startsWith, 2 endsWith,
// 3 contains) of the found value with s.
export function probe_compare(doc: usize, len: i32, path: usize, pathLen: i32, op: i32, s: usize, sLen: i32): i32 {
  const v = new Event(doc, len).find(str(path, pathLen));
  if (!v.found) return -2;
  const needle = str(s, sLen);
  if (op == 0) return v.equals(needle) ? 1 : 0;
  if (op == 1) return v.startsWith(needle) ? 1 : 0;
  if (op == 2) return v.endsWith(needle) ? 1 : 0;
  return v.contains(needle) ? 1 : 0;
}

// probe_millis is the found value's millis(), or -2 when not found.
export function probe_millis(doc: usize, len: i32, path: usize, pathLen: i32): f64 {
  const v = new Event(doc, len).find(str(path, pathLen));
  return v.found ? v.millis() : -2;
}

// abort replaces the env.abort import AssemblyScript adds by default.
export function abort(message: usize, file: usize, line: u32, column: u32): void {
  unreachable();
}

// pricing-then-help: an example hookwire filter in AssemblyScript.
// Matches a navigation to a help page in a session that earlier viewed a
// pricing page, within 10 minutes of it (by event timestamps). It keeps the
// time of the pricing view in the session's state, so the sequence survives
// restarts of hookwire.
//
// Build: npm ci && npm run build   (build/pricing-then-help.wasm)

@external("hookwire", "state_get")
declare function state_get(kptr: usize, klen: i32, vptr: usize, vcap: i32): i32;

@external("hookwire", "state_set")
declare function state_set(kptr: usize, klen: i32, vptr: usize, vlen: i32): i32;

const WINDOW_MS: i64 = 10 * 60 * 1000;
const KEY = String.UTF8.encode("pricing_at");

// hw_alloc: raw memory outside the garbage collector; the host reuses it.
export function hw_alloc(size: i32): usize {
  return heap.alloc(<usize>max(size, 1));
}

export function hw_match(ptr: usize, len: i32): i32 {
  const event = String.UTF8.decodeUnsafe(ptr, <usize>len);
  if (!event.includes('"type":"navigate"')) return 0;
  const at = timestampOf(event);
  if (at < 0) return -1;
  if (event.includes("/pricing")) {
    const value = new ArrayBuffer(8);
    store<i64>(changetype<usize>(value), at);
    return state_set(changetype<usize>(KEY), KEY.byteLength, changetype<usize>(value), 8) == 0 ? 0 : -1;
  }
  if (!event.includes("/help")) return 0;
  const value = new ArrayBuffer(8);
  if (state_get(changetype<usize>(KEY), KEY.byteLength, changetype<usize>(value), 8) != 8) return 0;
  const pricingAt = load<i64>(changetype<usize>(value));
  return at >= pricingAt && at - pricingAt <= WINDOW_MS ? 1 : 0;
}

// timestampOf reads "timestamp":"2026-11-27T12:00:00.123Z" (hookwire always
// writes UTC with milliseconds) as Unix milliseconds, or -1.
function timestampOf(event: string): i64 {
  const key = '"timestamp":"';
  const at = event.indexOf(key);
  if (at < 0) return -1;
  const end = event.indexOf('"', at + key.length);
  if (end < 0) return -1;
  return Date.fromString(event.substring(at + key.length, end)).getTime();
}

// abort replaces the env.abort import that AssemblyScript adds by default:
// a filter imports only what hookwire provides. A trap counts as no match.
export function abort(message: usize, file: usize, line: u32, column: u32): void {
  unreachable();
}

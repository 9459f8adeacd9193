// pricing-then-help: an example hookwire filter in AssemblyScript, with
// the SDK (filters/sdk/assemblyscript/hookwire.ts).
// Matches a navigation to a help page in a session that earlier viewed a
// pricing page, within 10 minutes of it (by event timestamps). It keeps the
// time of the pricing view in the session's state, so the sequence survives
// restarts of hookwire.
//
// Build: npm ci && npm run build   (build/pricing-then-help.wasm)

import { Event, log, stateGet, stateSet } from "../../../sdk/assemblyscript/hookwire";
export { hw_alloc } from "../../../sdk/assemblyscript/hookwire";

const WINDOW_MS: i64 = 10 * 60 * 1000;
const KEY = "pricing_at";

export function hw_match(ptr: usize, len: i32): i32 {
  const event = new Event(ptr, len);
  if (!event.find("type").equals("navigate")) return 0;
  // hookwire always writes the timestamp: UTC, with milliseconds.
  const millis = event.find("timestamp").millis();
  if (isNaN(millis)) return -1;
  const at = <i64>millis;
  // The page is the event's own url, not a url among its properties.
  const url = event.find("url");
  if (url.contains("/pricing")) {
    const value = new ArrayBuffer(8);
    store<i64>(changetype<usize>(value), at);
    return stateSet(KEY, value) ? 0 : -1;
  }
  if (!url.contains("/help")) return 0;
  const value = stateGet(KEY);
  if (value == null || value.byteLength != 8) return 0;
  const pricingAt = load<i64>(changetype<usize>(value));
  if (at < pricingAt || at - pricingAt > WINDOW_MS) return 0;
  log("help " + ((at - pricingAt) / 1000).toString() + " s after pricing");
  return 1;
}

// abort replaces the env.abort import that AssemblyScript adds by default:
// a filter imports only what hookwire provides. A trap counts as no match.
export function abort(message: usize, file: usize, line: u32, column: u32): void {
  unreachable();
}

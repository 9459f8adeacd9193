//! checkout-error: an example hookwire filter in Rust.
//!
//! Matches the configured number of `custom` events named "Checkout Error"
//! in one session (config: `{"times": 2}`), counting in the session's state.
//!
//! Build (needs the wasm32-unknown-unknown target, which this project's
//! machines cannot install, so CI does not build it):
//!
//!     rustup target add wasm32-unknown-unknown
//!     cargo build --release --target wasm32-unknown-unknown
//!     # target/wasm32-unknown-unknown/release/checkout_error.wasm

use serde::Deserialize;

#[link(wasm_import_module = "hookwire")]
extern "C" {
    fn state_get(kptr: *const u8, klen: u32, vptr: *mut u8, vcap: u32) -> i32;
    fn state_set(kptr: *const u8, klen: u32, vptr: *const u8, vlen: u32) -> i32;
}

#[derive(Deserialize)]
struct Config {
    times: u32,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
}

static mut TIMES: u32 = 0;

/// hw_alloc: a buffer the host fills; leaked on purpose, the host reuses it.
#[no_mangle]
pub extern "C" fn hw_alloc(size: u32) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(size.max(1) as usize);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

#[no_mangle]
pub extern "C" fn hw_init(ptr: *const u8, len: u32) -> i32 {
    let config = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    match serde_json::from_slice::<Config>(config) {
        Ok(c) if c.times > 0 => {
            unsafe { TIMES = c.times };
            0
        }
        _ => 1,
    }
}

#[no_mangle]
pub extern "C" fn hw_match(ptr: *const u8, len: u32) -> i32 {
    let data = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    let event: Event = match serde_json::from_slice(data) {
        Ok(e) => e,
        Err(_) => return -1,
    };
    if event.kind != "custom" || event.name != "Checkout Error" {
        return 0;
    }
    let key = b"checkout_errors";
    let mut count = [0u8; 4];
    unsafe { state_get(key.as_ptr(), key.len() as u32, count.as_mut_ptr(), 4) };
    let n = u32::from_le_bytes(count) + 1;
    let bytes = n.to_le_bytes();
    if unsafe { state_set(key.as_ptr(), key.len() as u32, bytes.as_ptr(), 4) } != 0 {
        return -1;
    }
    (n == unsafe { TIMES }) as i32
}

// pagevisit: an example hookwire filter in C, built without libc:
//
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export=hw_alloc \
//     -Wl,--export=hw_init -Wl,--export=hw_match -o pagevisit.wasm pagevisit.c
//
// It reads its config in hw_init and matches events of the configured type
// whose url contains the configured text:
//
//   config: {"type": "navigate", "url_contains": "/pricing"}
//
// The JSON scanning is deliberately small: hookwire writes events compactly
// with the top-level members first (filters/ABI.md, "The event").

typedef unsigned int u32;
typedef unsigned char u8;

// Without libc, the few routines the compiler may call on its own.
void *memcpy(void *dst, const void *src, __SIZE_TYPE__ n) {
  u8 *d = dst;
  const u8 *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memset(void *dst, int c, __SIZE_TYPE__ n) {
  u8 *d = dst;
  while (n--) *d++ = (u8)c;
  return dst;
}

// A bump allocator over a static arena. hookwire asks for a buffer once for
// the config and again only when an event outgrows the last one.
static u8 arena[1 << 20];
static u32 arena_used;

__attribute__((export_name("hw_alloc"))) u8 *hw_alloc(u32 size) {
  if (size > sizeof(arena) - arena_used) return 0;
  u8 *p = arena + arena_used;
  arena_used += (size + 15) & ~15u;
  return p;
}

static u32 text_len(const char *s) { u32 n = 0; while (s[n]) n++; return n; }

static int equal(const u8 *a, const u8 *b, u32 n) {
  for (u32 i = 0; i < n; i++) if (a[i] != b[i]) return 0;
  return 1;
}

static int contains(const u8 *s, u32 n, const u8 *sub, u32 m) {
  if (m > n) return 0;
  for (u32 i = 0; i + m <= n; i++) if (equal(s + i, sub, m)) return 1;
  return 0;
}

// string_member finds "key":"value" in json and points *value at the value
// (without quotes). Escaped quotes inside the value end it early: enough for
// event types and URLs.
static int string_member(const u8 *json, u32 n, const char *key, const u8 **value, u32 *len) {
  u8 needle[80];
  u32 k = text_len(key);
  if (k + 4 > sizeof(needle)) return 0;
  needle[0] = '"';
  for (u32 i = 0; i < k; i++) needle[i + 1] = (u8)key[i];
  needle[k + 1] = '"'; needle[k + 2] = ':'; needle[k + 3] = '"';
  u32 m = k + 4;
  for (u32 i = 0; i + m <= n; i++) {
    if (!equal(json + i, needle, m)) continue;
    u32 start = i + m, end = start;
    while (end < n && json[end] != '"') end++;
    if (end >= n) return 0;
    *value = json + start;
    *len = end - start;
    return 1;
  }
  return 0;
}

static const u8 *want_type, *want_url;
static u32 want_type_len, want_url_len;

// hw_init: 0 accepts the config, anything else refuses it.
__attribute__((export_name("hw_init"))) int hw_init(const u8 *config, u32 n) {
  if (!string_member(config, n, "type", &want_type, &want_type_len)) return 1;
  if (!string_member(config, n, "url_contains", &want_url, &want_url_len) || want_url_len == 0) return 2;
  return 0;
}

__attribute__((export_name("hw_match"))) int hw_match(const u8 *event, u32 n) {
  const u8 *type, *url;
  u32 type_len, url_len;
  if (!want_type) return -1; // no config
  if (!string_member(event, n, "type", &type, &type_len)) return 0;
  if (type_len != want_type_len || !equal(type, want_type, type_len)) return 0;
  if (!string_member(event, n, "url", &url, &url_len)) return 0;
  return contains(url, url_len, want_url, want_url_len);
}

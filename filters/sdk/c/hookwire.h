// hookwire.h: the hookwire_v1 filter ABI for C, without libc.
//
// A filter in C needs an allocator the host can call, the host's imports,
// and a way to read fields out of the event's JSON. This header gives all
// three; a filter defines hw_match (and hw_init if it takes a config):
//
//   #include "hookwire.h"
//
//   HW_EXPORT(hw_match) int hw_match(const char *event, uint32_t len) {
//     hw_value url;
//     return hw_find(event, len, "url", &url) == 1 && hw_text_contains(&url, "/pricing");
//   }
//
// Build (clang and lld, nothing else):
//
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -I filters/sdk/c -o f.wasm f.c
//
// Lookups read the JSON where it lies: nothing is parsed ahead, nothing is
// copied. Strings are compared and searched with their escapes decoded
// ("\u00e9" is "é", "\/" is "/"), so a filter sees what the producer sent.
// Everything is in this one header: include it in one .c file (the
// allocator and the few routines clang may call are defined weak, so a
// second file including it links too).
//
// The ABI itself, with the event's shape and the limits, is filters/ABI.md.

#ifndef HOOKWIRE_H
#define HOOKWIRE_H

#include <stddef.h>
#include <stdint.h>

#define HW_EXPORT(name) __attribute__((export_name(#name)))
#define HW_IMPORT(name) __attribute__((import_module("hookwire"), import_name(#name)))

// ---- Imports (only those a filter calls end up in its module) ----------

// hw_state_get copies at most vcap bytes of this session's value for the
// key to v and returns the value's full length, or -1 if there is none.
HW_IMPORT(state_get) int32_t hw_state_get(const void *key, uint32_t klen, void *v, uint32_t vcap);
// hw_state_set stores the value for the key: 0, or -1 when refused (over
// the limits in filters/ABI.md).
HW_IMPORT(state_set) int32_t hw_state_set(const void *key, uint32_t klen, const void *v, uint32_t vlen);
// hw_log writes a line to hookwire's log, which names the stream and session.
HW_IMPORT(log) void hw_log(const char *line, uint32_t len);

// ---- Memory ------------------------------------------------------------

// hw_alloc is the export the host writes the config and the events
// through. Blocks come from the end of the module's memory, which grows as
// needed, and are never freed: the host asks once for the config and again
// only when an event outgrows its buffer, and sizes are rounded up to a
// power of two, so the event buffers together stay under four times the
// largest event. A filter may call it too. 0 when memory cannot grow (the host's
// cap, 64 MiB by default).
extern unsigned char __heap_base;

__attribute__((weak)) HW_EXPORT(hw_alloc) void *hw_alloc(uint32_t size) {
  static uintptr_t next;
  if (next == 0) next = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
  uint32_t rounded = 256;
  while (rounded < size) {
    if (rounded >= 0x80000000u) return 0;
    rounded <<= 1;
  }
  uintptr_t start = next, end = start + rounded;
  if (end < start) return 0;
  uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    uintptr_t pages = (end - have + 65535u) / 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  next = end;
  return (void *)start;
}

// Without libc, clang may still call these for copies and clears.
#ifndef HOOKWIRE_HAVE_LIBC
__attribute__((weak)) void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}
__attribute__((weak)) void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}
__attribute__((weak)) int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}
#endif

// ---- Reading the event -------------------------------------------------

enum hw_kind { HW_ABSENT, HW_STRING, HW_NUMBER, HW_TRUE, HW_FALSE, HW_NULL, HW_OBJECT, HW_ARRAY };

// hw_value is a JSON value where it lies in the document: for a string,
// ptr and len are its bytes between the quotes, escapes as written
// (escaped says whether there are any); for the others, the whole value.
typedef struct {
  enum hw_kind kind;
  const char *ptr;
  uint32_t len;
  int escaped;
} hw_value;

// hw__ names are the header's own; a filter uses the hw_ ones below.

static inline uint32_t hw__cstrlen(const char *s) {
  uint32_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline uint32_t hw__space(const char *j, uint32_t n, uint32_t i) {
  while (i < n && (j[i] == ' ' || j[i] == '\t' || j[i] == '\n' || j[i] == '\r')) i++;
  return i;
}

// hw__value reads the value at j[i] into v and returns the index past it,
// or -1 when the document ends inside it or there is no value there. It
// steps over an object or array by counting brackets outside strings, so
// nesting costs no stack; it trusts what it skips to be well formed, as
// what hookwire writes is.
static inline int64_t hw__value(const char *j, uint32_t n, uint32_t i, hw_value *v) {
  i = hw__space(j, n, i);
  if (i >= n) return -1;
  uint32_t start = i;
  char c = j[i];
  v->escaped = 0;
  if (c == '"') {
    for (i++; i < n; i++) {
      if (j[i] == '\\') {
        v->escaped = 1;
        i++;
      } else if (j[i] == '"') {
        v->kind = HW_STRING;
        v->ptr = j + start + 1;
        v->len = i - start - 1;
        return i + 1;
      }
    }
    return -1;
  }
  if (c == '{' || c == '[') {
    uint32_t depth = 0;
    for (; i < n; i++) {
      char d = j[i];
      if (d == '"') {
        for (i++; i < n && j[i] != '"'; i++)
          if (j[i] == '\\') i++;
        if (i >= n) return -1;
      } else if (d == '{' || d == '[') {
        depth++;
      } else if ((d == '}' || d == ']') && --depth == 0) {
        v->kind = c == '{' ? HW_OBJECT : HW_ARRAY;
        v->ptr = j + start;
        v->len = i + 1 - start;
        return i + 1;
      }
    }
    return -1;
  }
  static const struct { const char *word; uint32_t len; enum hw_kind kind; } words[] = {
      {"true", 4, HW_TRUE}, {"false", 5, HW_FALSE}, {"null", 4, HW_NULL}};
  for (int w = 0; w < 3; w++) {
    if (n - i >= words[w].len && memcmp(j + i, words[w].word, words[w].len) == 0) {
      v->kind = words[w].kind;
      v->ptr = j + start;
      v->len = words[w].len;
      return i + words[w].len;
    }
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    while (i < n && (j[i] == '-' || j[i] == '+' || j[i] == '.' || j[i] == 'e' || j[i] == 'E' || (j[i] >= '0' && j[i] <= '9'))) i++;
    v->kind = HW_NUMBER;
    v->ptr = j + start;
    v->len = i - start;
    return i;
  }
  return -1;
}

// A reader of a string's bytes with its escapes decoded (to UTF-8).
typedef struct {
  const char *p, *end;
  unsigned char pending[4];
  int npending, next;
} hw__reader;

static inline hw__reader hw__read(const char *p, uint32_t len) {
  hw__reader r = {p, p + len, {0}, 0, 0};
  return r;
}

static inline int hw__hex4(const char *p, const char *end, uint32_t *out) {
  if (end - p < 4) return 0;
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char h = p[k];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= (uint32_t)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (uint32_t)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (uint32_t)(h - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

// hw__byte returns the next decoded byte, or -1 at the end.
static inline int hw__byte(hw__reader *r) {
  if (r->next < r->npending) return r->pending[r->next++];
  if (r->p >= r->end) return -1;
  unsigned char c = (unsigned char)*r->p++;
  if (c != '\\' || r->p >= r->end) return c;
  char e = *r->p++;
  switch (e) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': break;
    default: return (unsigned char)e;  // '"', '\\', '/'
  }
  uint32_t cp;
  if (!hw__hex4(r->p, r->end, &cp)) return '?';
  r->p += 4;
  if (cp >= 0xD800 && cp < 0xDC00) {
    uint32_t low;
    if (r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' && hw__hex4(r->p + 2, r->end, &low) &&
        low >= 0xDC00 && low < 0xE000) {
      r->p += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else {
      cp = 0xFFFD;  // a lone surrogate, as Go's decoder reads it
    }
  } else if (cp >= 0xDC00 && cp < 0xE000) {
    cp = 0xFFFD;
  }
  r->npending = 0;
  r->next = 0;
  if (cp < 0x80) return (int)cp;
  if (cp < 0x800) {
    r->pending[r->npending++] = (unsigned char)(0x80 | (cp & 0x3F));
    return 0xC0 | (int)(cp >> 6);
  }
  if (cp < 0x10000) {
    r->pending[r->npending++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    r->pending[r->npending++] = (unsigned char)(0x80 | (cp & 0x3F));
    return 0xE0 | (int)(cp >> 12);
  }
  r->pending[r->npending++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  r->pending[r->npending++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  r->pending[r->npending++] = (unsigned char)(0x80 | (cp & 0x3F));
  return 0xF0 | (int)(cp >> 18);
}

// hw__digits is the n decimal digits at b as a number, or -1.
static inline int hw__digits(const int *b, int n) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    if (b[k] < '0' || b[k] > '9') return -1;
    v = v * 10 + (b[k] - '0');
  }
  return v;
}

static inline int hw__days_in(int year, int month) {
  if (month == 2) return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28;
  return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

// hw__days_from_civil is the days from 1970-01-01 to a date of the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
static inline int64_t hw__days_from_civil(int year, int month, int day) {
  int64_t y = month <= 2 ? year - 1 : year;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t year_of_era = y - era * 400;
  int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// hw__starts reports whether the decoded text from the reader's position
// starts with s[0:n] (whole: and ends there).
static inline int hw__starts(hw__reader r, const char *s, uint32_t n, int whole) {
  for (uint32_t k = 0; k < n; k++)
    if (hw__byte(&r) != (unsigned char)s[k]) return 0;
  return !whole || hw__byte(&r) == -1;
}

// hw__may_repeat reports whether a member named seg[0:n] could come again
// in rest[0:len], the document after the one found: its name's bytes or an
// escape are there (hookwire's own lookups take the same shortcut). Most
// lookups find neither and stop at the member they found; the others walk
// on to the object's end for the last of that name.
static inline int hw__may_repeat(const char *rest, uint32_t len, const char *seg, uint32_t n) {
  if (n == 0) return 1;
  // Eight places a step, each tested for a backslash and for the name's
  // first two bytes (a letter alone is in most words of text): in a
  // filter, every loop step costs the deadline's check too.
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  const uint64_t backslashes = ones * '\\', firsts = ones * (unsigned char)seg[0];
  const uint64_t seconds = ones * (unsigned char)(n > 1 ? seg[1] : seg[0]);
  uint32_t i = 0;
  while (i < len) {
    for (; i + 9 <= len; i += 8) {
      uint64_t w, next;
      memcpy(&w, rest + i, 8);
      memcpy(&next, rest + i + 1, 8);
      uint64_t b = w ^ backslashes, f = (w ^ firsts) | (n > 1 ? next ^ seconds : 0);
      if ((((b - ones) & ~b) | ((f - ones) & ~f)) & highs) break;
    }
    for (uint32_t stop = i + 8 < len ? i + 8 : len; i < stop; i++) {
      if (rest[i] == '\\' || (len - i >= n && rest[i] == seg[0] && memcmp(rest + i, seg, n) == 0)) return 1;
    }
  }
  return 0;
}

// hw_find looks up a path of member names separated by dots ("type",
// "properties.price", "user.email"; a number steps into an array:
// "properties.items.0.sku") in the JSON document json[0:len], and sets *out
// to what is there. It returns 1 when found, 0 when the path is absent
// (or leads through something that is not an object or array), -1 when
// the document is malformed on the way. Member names are compared with
// their escapes decoded; of a member named twice the last counts, as in
// encoding/json, JSON.parse and hookwire's own triggers.
static inline int hw_find(const char *json, uint32_t len, const char *path, hw_value *out) {
  // j[0:n] starts with the value the next segment looks into. The walk
  // stops at the member it wants (one pass over the bytes before it, and
  // over the found value only to know where it ends) unless its name may
  // come again (hw__may_repeat): then at the end of its object.
  uint32_t k = hw__space(json, len, 0);
  const char *j = json + k;
  uint32_t n = len - k;
  if (n > 0 && j[0] != '{' && j[0] != '[') {
    hw_value scalar;
    return hw__value(j, n, 0, &scalar) < 0 ? -1 : 0;
  }
  for (const char *seg = path;;) {
    const char *dot = seg;
    while (*dot && *dot != '.') dot++;
    uint32_t seglen = (uint32_t)(dot - seg);
    if (n == 0) return -1;
    if (j[0] != '{' && j[0] != '[') return 0;
    int object = j[0] == '{';
    uint32_t index = 0;
    if (!object) {
      if (seglen == 0 || seglen > 9) return 0;
      for (uint32_t d = 0; d < seglen; d++) {
        if (seg[d] < '0' || seg[d] > '9') return 0;
        index = index * 10 + (uint32_t)(seg[d] - '0');
      }
    }
    char close = object ? '}' : ']';
    uint32_t at = 0;
    int64_t found = -1;  // where the value of the last member matched starts
    k = hw__space(j, n, 1);
    if (k < n && j[k] == close) return 0;
    for (;;) {
      hw_value name, skipped;
      int64_t next;
      int match;
      if (object) {
        next = hw__value(j, n, k, &name);
        if (next < 0 || name.kind != HW_STRING) return -1;
        match = name.escaped ? hw__starts(hw__read(name.ptr, name.len), seg, seglen, 1)
                             : name.len == seglen && memcmp(name.ptr, seg, seglen) == 0;
        k = hw__space(j, n, (uint32_t)next);
        if (k >= n || j[k] != ':') return -1;
        k++;
      } else {
        match = at++ == index;
      }
      if (match) {
        found = k;
        if (!object || !hw__may_repeat(j + k, n - k, seg, seglen)) break;
      }
      next = hw__value(j, n, k, &skipped);
      if (next < 0) return -1;
      k = hw__space(j, n, (uint32_t)next);
      if (k < n && j[k] == ',') {
        k++;
        continue;
      }
      if (k < n && j[k] == close) {
        if (found < 0) return 0;
        break;
      }
      return -1;
    }
    if (*dot == 0) return hw__value(j, n, (uint32_t)found, out) < 0 ? -1 : 1;
    k = hw__space(j, n, (uint32_t)found);
    j += k;
    n -= k;
    seg = dot + 1;
  }
}

// hw_text_equal, hw_text_has_prefix, hw_text_has_suffix and
// hw_text_contains compare a string value's decoded text with s (a
// NUL-terminated UTF-8 string); 0 when v is not a string.
static inline int hw_text_equal(const hw_value *v, const char *s) {
  return v->kind == HW_STRING && hw__starts(hw__read(v->ptr, v->len), s, hw__cstrlen(s), 1);
}

static inline int hw_text_has_prefix(const hw_value *v, const char *s) {
  return v->kind == HW_STRING && hw__starts(hw__read(v->ptr, v->len), s, hw__cstrlen(s), 0);
}

// hw_text_len is the length in bytes of a string value's decoded text
// (-1 when v is not a string).
static inline int64_t hw_text_len(const hw_value *v) {
  if (v->kind != HW_STRING) return -1;
  if (!v->escaped) return v->len;
  hw__reader r = hw__read(v->ptr, v->len);
  int64_t n = 0;
  while (hw__byte(&r) >= 0) n++;
  return n;
}

static inline int hw_text_contains(const hw_value *v, const char *s) {
  if (v->kind != HW_STRING) return 0;
  uint32_t n = hw__cstrlen(s);
  if (!v->escaped) {
    // The text is its bytes: look for the first byte, then compare.
    if (n == 0) return 1;
    for (uint32_t i = 0; i + n <= v->len; i++)
      if (v->ptr[i] == s[0] && memcmp(v->ptr + i, s, n) == 0) return 1;
    return 0;
  }
  hw__reader r = hw__read(v->ptr, v->len);
  for (;;) {
    if (hw__starts(r, s, n, 0)) return 1;
    if (hw__byte(&r) < 0) return 0;
  }
}

static inline int hw_text_has_suffix(const hw_value *v, const char *s) {
  int64_t have = hw_text_len(v), n = hw__cstrlen(s);
  if (have < n) return 0;
  hw__reader r = hw__read(v->ptr, v->len);
  for (int64_t k = 0; k < have - n; k++) hw__byte(&r);
  return hw__starts(r, s, (uint32_t)n, 1);
}

// hw_text copies a string value's decoded text to dst, NUL-terminated, and
// returns its length; -1 when v is not a string or cap cannot hold it and
// the NUL. hw_text_len + 1 bytes are always enough.
static inline int64_t hw_text(const hw_value *v, char *dst, uint32_t cap) {
  int64_t n = hw_text_len(v);
  if (n < 0 || n + 1 > (int64_t)cap) return -1;
  hw__reader r = hw__read(v->ptr, v->len);
  for (int64_t k = 0; k < n; k++) dst[k] = (char)hw__byte(&r);
  dst[n] = 0;
  return n;
}

// hw_text_dup is hw_text into memory from hw_alloc (kept for good: for a
// config's strings, read once in hw_init), or 0.
static inline char *hw_text_dup(const hw_value *v) {
  int64_t n = hw_text_len(v);
  if (n < 0) return 0;
  char *dst = hw_alloc((uint32_t)n + 1);
  if (dst == 0 || hw_text(v, dst, (uint32_t)n + 1) < 0) return 0;
  return dst;
}

// hw_number reads a number value into *out: 1, or 0 when v is not a
// number. Integers up to 2^53 are exact; others are within a few units
// of the last place (enough for thresholds, not for money arithmetic).
static inline int hw_number(const hw_value *v, double *out) {
  if (v->kind != HW_NUMBER) return 0;
  const char *p = v->ptr, *end = v->ptr + v->len;
  int negative = p < end && *p == '-';
  if (negative) p++;
  // The first 19 significant digits make the mantissa; an integer digit
  // past them scales it, a fraction digit past them is dropped (hundreds
  // of digits would otherwise overflow it).
  double mantissa = 0;
  int scale = 0, digits = 0, significant = 0;
  for (int fraction = 0;; p++) {
    if (p < end && *p == '.' && !fraction && digits > 0) {
      fraction = 1;
      continue;
    }
    if (p >= end || *p < '0' || *p > '9') break;
    digits++;
    if (significant < 19) {
      mantissa = mantissa * 10 + (*p - '0');
      significant += mantissa != 0;
      scale -= fraction;
    } else {
      scale += !fraction;
    }
  }
  if (digits == 0) return 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    int esign = 1, e = 0;
    if (p < end && (*p == '+' || *p == '-')) esign = *p++ == '-' ? -1 : 1;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
      if (e < 100000) e = e * 10 + (*p - '0');
    scale += esign * e;
  }
  if (p != end) return 0;
  if (mantissa != 0) {
    // Scaled in steps that stay within a double's range on the way.
    for (; scale > 300; scale -= 300) mantissa *= 1e300;
    for (; scale < -300; scale += 300) mantissa /= 1e300;
    double factor = 1, ten = 10;
    for (int k = scale < 0 ? -scale : scale; k; k >>= 1, ten *= ten)
      if (k & 1) factor *= ten;
    mantissa = scale < 0 ? mantissa / factor : mantissa * factor;
  }
  *out = negative ? -mantissa : mantissa;
  return 1;
}

// hw_millis reads a string value in RFC 3339, as hookwire writes every
// event's timestamp ("2026-11-27T12:00:00.123Z"; a fraction of any length
// and an offset such as "+01:00" are read too), into *out as Unix
// milliseconds (a fraction past them cut off): 1, or 0 when v is not such
// a string. Forms outside RFC 3339 that Go's time.Parse takes (a one-digit
// hour, a comma before the fraction) are not read.
static inline int hw_millis(const hw_value *v, int64_t *out) {
  if (v->kind != HW_STRING) return 0;
  hw__reader r = hw__read(v->ptr, v->len);
  int b[19];  // "2006-01-02T15:04:05"
  for (int k = 0; k < 19; k++)
    if ((b[k] = hw__byte(&r)) < 0) return 0;
  int year = hw__digits(b, 4), month = hw__digits(b + 5, 2), day = hw__digits(b + 8, 2);
  int hour = hw__digits(b + 11, 2), minute = hw__digits(b + 14, 2), second = hw__digits(b + 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > hw__days_in(year, month) || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 59 || b[4] != '-' || b[7] != '-' || b[10] != 'T' ||
      b[13] != ':' || b[16] != ':')
    return 0;
  int64_t millis = 0;
  int c = hw__byte(&r);
  if (c == '.') {
    int places = 0;
    while ((c = hw__byte(&r)) >= '0' && c <= '9') {
      if (places < 3) millis = millis * 10 + (c - '0');
      places++;
    }
    if (places == 0) return 0;
    for (; places < 3; places++) millis *= 10;
  }
  int64_t offset = 0;  // minutes east of UTC
  if (c == '+' || c == '-') {
    int z[5];
    for (int k = 0; k < 5; k++)
      if ((z[k] = hw__byte(&r)) < 0) return 0;
    int oh = hw__digits(z, 2), om = hw__digits(z + 3, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || z[2] != ':') return 0;
    offset = (int64_t)(oh * 60 + om) * (c == '-' ? -1 : 1);
  } else if (c != 'Z') {
    return 0;
  }
  if (hw__byte(&r) != -1) return 0;
  int64_t seconds = hw__days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset * 60;
  *out = seconds * 1000 + millis;
  return 1;
}

// hw_log_text writes a NUL-terminated line to hookwire's log.
static inline void hw_log_text(const char *line) { hw_log(line, hw__cstrlen(line)); }

#endif

// probe: the C SDK's functions exported one by one, for sdk_test.go to
// call with documents and paths and compare with Go's encoding/json.
// Strings (paths, needles) are NUL-terminated; the test writes them into
// memory from hw_alloc.
#include "hookwire.h"

// The last lookup, read by the test at probe_result().
static struct {
  int32_t kind;
  uint32_t offset;  // of the value (a string's first byte inside its quotes) from the document's start
  uint32_t len;
  int32_t escaped;
  int64_t text_len;
  int32_t number_ok;
  int32_t pad;
  double number;
} result;

HW_EXPORT(probe_result) void *probe_result(void) { return &result; }

HW_EXPORT(probe_find) int probe_find(const char *json, uint32_t len, const char *path) {
  hw_value v = {0};
  int found = hw_find(json, len, path, &v);
  result.kind = found == 1 ? (int32_t)v.kind : HW_ABSENT;
  result.offset = found == 1 ? (uint32_t)(v.ptr - json) : 0;
  result.len = found == 1 ? v.len : 0;
  result.escaped = v.escaped;
  result.text_len = found == 1 ? hw_text_len(&v) : -1;
  result.number_ok = found == 1 && hw_number(&v, &result.number);
  return found;
}

// probe_text copies the found string's decoded text to dst.
HW_EXPORT(probe_text) int32_t probe_text(const char *json, uint32_t len, const char *path, char *dst, uint32_t cap) {
  hw_value v;
  if (hw_find(json, len, path, &v) != 1) return -2;
  return (int32_t)hw_text(&v, dst, cap);
}

// probe_compare applies comparison op (0 equal, 1 prefix, 2 suffix,
// 3 contains) of the found value with s.
HW_EXPORT(probe_compare) int probe_compare(const char *json, uint32_t len, const char *path, int op, const char *s) {
  hw_value v;
  if (hw_find(json, len, path, &v) != 1) return -2;
  switch (op) {
    case 0: return hw_text_equal(&v, s);
    case 1: return hw_text_has_prefix(&v, s);
    case 2: return hw_text_has_suffix(&v, s);
    default: return hw_text_contains(&v, s);
  }
}

// probe_millis is hw_millis of the found value: NaN when it reads none,
// -2 when the path is not found.
HW_EXPORT(probe_millis) double probe_millis(const char *json, uint32_t len, const char *path) {
  hw_value v;
  if (hw_find(json, len, path, &v) != 1) return -2;
  int64_t millis;
  return hw_millis(&v, &millis) ? (double)millis : __builtin_nan("");
}

// counter: a filter built on the C SDK's imports, for sdk_test.go to run
// in hookwire's own host. It counts, in the session's state, the events
// whose properties.amount is at least the config's "min", and matches on
// the config's "times"-th; it logs each count.
#include "hookwire.h"

static double min_amount, times;

HW_EXPORT(hw_init) int hw_init(const char *config, uint32_t len) {
  hw_value v;
  if (hw_find(config, len, "min", &v) != 1 || !hw_number(&v, &min_amount)) return 1;
  if (hw_find(config, len, "times", &v) != 1 || !hw_number(&v, &times) || times < 1) return 2;
  return 0;
}

HW_EXPORT(hw_match) int hw_match(const char *event, uint32_t len) {
  hw_value v;
  double amount;
  if (hw_find(event, len, "properties.amount", &v) != 1 || !hw_number(&v, &amount) || amount < min_amount) return 0;
  uint32_t count = 0;
  int32_t n = hw_state_get("count", 5, &count, sizeof count);
  if (n != -1 && n != (int32_t)sizeof count) return -1;
  count++;
  if (hw_state_set("count", 5, &count, sizeof count) != 0) return -1;
  char line[] = "count 0";
  line[6] = (char)('0' + count % 10);
  hw_log_text(line);
  return count == (uint32_t)times;
}

// pagevisit: an example hookwire filter in C, with the C SDK
// (filters/sdk/c/hookwire.h) and without libc:
//
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -I filters/sdk/c \
//     -o pagevisit.wasm filters/examples/c/pagevisit.c
//
// It reads its config in hw_init and matches events of the configured type
// whose url contains the configured text:
//
//   config: {"type": "navigate", "url_contains": "/pricing"}

#include "hookwire.h"

// The config's strings, decoded once; hw_init refuses a config without
// them, and logs why: hookwire puts what hw_init logged into its refusal.
static const char *want_type, *want_url;

HW_EXPORT(hw_init) int hw_init(const char *config, uint32_t len) {
  hw_value type, url;
  if (hw_find(config, len, "type", &type) != 1 || !(want_type = hw_text_dup(&type))) {
    hw_log_text("config needs \"type\": the event type to match, e.g. \"navigate\"");
    return 1;
  }
  if (hw_find(config, len, "url_contains", &url) != 1 || hw_text_len(&url) < 1 || !(want_url = hw_text_dup(&url))) {
    hw_log_text("config needs \"url_contains\": the text the event's url must hold");
    return 2;
  }
  return 0;
}

HW_EXPORT(hw_match) int hw_match(const char *event, uint32_t len) {
  hw_value type, url;
  if (!want_type) return -1;  // no config
  if (hw_find(event, len, "type", &type) != 1 || !hw_text_equal(&type, want_type)) return 0;
  // The event's own url: properties.url, say, is not it.
  if (hw_find(event, len, "url", &url) != 1) return 0;
  return hw_text_contains(&url, want_url);
}

// Package catalog spells the load harness's stream catalogues once: the
// harness builds its streams from them, and the stream index's benchmark
// (engine/streams) indexes the same conditions. It imports nothing of
// hookwire's, so either side may import it.
package catalog

import "fmt"

// Condition is one trigger of one condition: on events of type Event,
// Field Op Value.
type Condition struct {
	Event, Field, Op string
	Value            any
}

// Mixed is stream i's condition in the standard catalogue: eq on a
// property, RE2 and contains on the URL, gt on a number, ends_with on the
// user's email, each kind used by a fifth of the streams, each stream with
// its own value; the RE2 patterns share the site's URL prefix. No event
// the harness sends matches one.
func Mixed(i int) Condition {
	return []Condition{
		{"click", "properties.target_text", "eq", fmt.Sprintf("never-clicked-%d", i)},
		{"navigate", "url", "matches", fmt.Sprintf(`^https://shop\.example/(cart|checkout)/step-%d$`, i)},
		{"rage_click", "url", "contains", fmt.Sprintf("/no-such-page-%d", i)},
		{"change", "properties.price", "gt", 1e12 + float64(i)},
		{"click", "user.email", "ends_with", fmt.Sprintf("@never-%d.example", i)},
	}[i%5]
}

// Keyed is stream i's condition in the keyed catalogue: each stream
// watches its own button, page or SKU with eq or in.
func Keyed(i int) Condition {
	return []Condition{
		{"click", "properties.target_text", "eq", fmt.Sprintf("button-%d", i)},
		{"navigate", "url", "eq", fmt.Sprintf("https://shop.example/landing/%d", i)},
		{"rage_click", "url", "in", []string{fmt.Sprintf("https://shop.example/cart/%d", i), fmt.Sprintf("https://shop.example/checkout/%d", i)}},
		{"change", "properties.sku", "eq", fmt.Sprintf("SKU-never-%d", i)},
		{"click", "user.email", "eq", fmt.Sprintf("vip-%d@never.example", i)},
	}[i%5]
}

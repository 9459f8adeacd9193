// Command bigspender is an example hookwire filter in Go, using the SDK.
// It matches the first "add to cart" click of a session whose running cart
// total reaches the configured threshold: it reads config and keeps state.
//
//	config: {"min_total": 100}
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bigspender.wasm .
package main

import (
	"errors"
	"strconv"

	"github.com/hookwire/hookwire/filters/sdk/go/hookwire"
)

var minTotal float64

func init() {
	hookwire.OnConfig(func(config []byte) error {
		var c struct {
			MinTotal *float64 `json:"min_total"`
		}
		if err := hookwire.DecodeConfig(config, &c); err != nil {
			return err
		}
		if c.MinTotal == nil || *c.MinTotal <= 0 {
			return errors.New(`config needs {"min_total": <positive number>}`)
		}
		minTotal = *c.MinTotal
		return nil
	})
	hookwire.Handle(func(e hookwire.Event) bool {
		if e.Type != "click" || e.Properties["target_text"] != "Add to cart" {
			return false
		}
		price, ok := e.Properties["price"].(float64)
		if !ok {
			return false
		}
		total := price
		if prev, found := hookwire.Get("cart_total"); found {
			p, _ := strconv.ParseFloat(string(prev), 64)
			total += p
		}
		hookwire.Set("cart_total", strconv.AppendFloat(nil, total, 'f', -1, 64))
		return total >= minTotal
	})
}

func main() {}

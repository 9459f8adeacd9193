// Command failedlogins is an example hookwire filter in Go that reads each
// event where it lies (hookwire.HandleRaw) instead of decoding it: it
// matches a session's third failed login, counting the custom events of
// a configured name in the session's state.
//
//	config: {"name": "Login Failed", "count": 3}   (count defaults to 3)
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o failedlogins.wasm .
package main

import (
	"errors"
	"math"
	"strconv"

	"github.com/hookwire/hookwire/filters/sdk/go/hookwire"
)

var (
	name  string
	count = 3
)

func init() {
	hookwire.OnConfig(func(config []byte) error {
		c := hookwire.Raw(config)
		n, ok := c.Find("name").Text()
		if !ok || n == "" {
			return errors.New(`config needs {"name": "<the custom event's name>"}`)
		}
		name = n
		if v := c.Find("count"); v.Found() {
			f, ok := v.Number()
			if !ok || f < 1 || f > 1000 || f != math.Trunc(f) {
				return errors.New(`config's "count" must be a whole number from 1 to 1000`)
			}
			count = int(f)
		}
		return nil
	})
	hookwire.HandleRaw(func(e hookwire.Raw) bool {
		// Two lookups and no decoding for most events: the filter's
		// whole cost when the event is not a failed login.
		if !e.Find("type").Equal("custom") || !e.Find("name").Equal(name) {
			return false
		}
		failed := 1
		if prev, found := hookwire.Get("failed"); found {
			n, _ := strconv.Atoi(string(prev))
			failed += n
		}
		hookwire.Set("failed", strconv.AppendInt(nil, int64(failed), 10))
		return failed >= count
	})
}

func main() {}

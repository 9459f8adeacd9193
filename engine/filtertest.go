package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/wasm"
)

// TestFilter runs a filter module over events (NDJSON or a JSON array, in
// the ingest shape) as one session would see them, with config, and returns
// each event's verdict. It is `hookwire filter test`: the same runtime, ABI
// checks and limits as the server, without one.
func TestFilter(ctx context.Context, module []byte, config json.RawMessage, events []byte, timeout time.Duration) ([]streams.Verdict, error) {
	format := ingest.FormatNDJSON
	if trimmed := bytes.TrimSpace(events); len(trimmed) > 0 && trimmed[0] == '[' {
		format = ingest.FormatJSON
	}
	evs, err := ingest.Decode(events, format, 1<<20, time.Now())
	if err != nil {
		return nil, err
	}
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CallTimeout: timeout})
	if err != nil {
		return nil, err
	}
	defer rt.Close(ctx)
	mod, err := rt.Compile(ctx, module)
	if err != nil {
		return nil, err
	}
	return streams.EvalModule(ctx, mod, config, evs)
}

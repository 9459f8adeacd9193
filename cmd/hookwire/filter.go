package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// filterCommand is `hookwire filter test`: run a module over events from a
// file, as one session, and print each verdict, without a server.
func filterCommand(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: hookwire filter test <module.wasm> --events events.ndjson [--config cfg.json]")
	}
	fs := flag.NewFlagSet("filter test", flag.ContinueOnError)
	eventsPath := fs.String("events", "", "events, one JSON object per line (NDJSON) or a JSON array")
	configPath := fs.String("config", "", "the trigger's config (a JSON file)")
	timeout := fs.Duration("timeout", 10*time.Millisecond, "time budget of one call")
	rest := args[1:]
	var module string
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		module, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if module == "" && fs.NArg() > 0 {
		module = fs.Arg(0)
	}
	if module == "" || *eventsPath == "" {
		return errors.New("usage: hookwire filter test <module.wasm> --events events.ndjson [--config cfg.json]")
	}
	binary, err := os.ReadFile(module)
	if err != nil {
		return err
	}
	events, err := os.ReadFile(*eventsPath)
	if err != nil {
		return err
	}
	var config json.RawMessage
	if *configPath != "" {
		if config, err = os.ReadFile(*configPath); err != nil {
			return err
		}
	}
	verdicts, err := engine.TestFilter(context.Background(), binary, config, events, *timeout)
	if err != nil {
		return err
	}
	matches, faults := 0, 0
	for _, v := range verdicts {
		switch {
		case v.Fault != "":
			faults++
			fmt.Fprintf(out, "%d\tfault\t%s\n", v.Index+1, v.Fault)
		case v.Match:
			matches++
			fmt.Fprintf(out, "%d\tmatch\n", v.Index+1)
		default:
			fmt.Fprintf(out, "%d\tno match\n", v.Index+1)
		}
		for _, line := range v.Logs {
			fmt.Fprintf(out, "\tlog: %s\n", line)
		}
	}
	fmt.Fprintf(out, "%d events, %d matches, %d faults\n", len(verdicts), matches, faults)
	return nil
}

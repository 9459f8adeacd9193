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
		return errors.New("usage: hookwire filter test <module.wasm> --events events.ndjson [--config cfg.json] [--times]")
	}
	fs := flag.NewFlagSet("filter test", flag.ContinueOnError)
	eventsPath := fs.String("events", "", "events, one JSON object per line (NDJSON) or a JSON array")
	configPath := fs.String("config", "", "the trigger's config (a JSON file)")
	timeout := fs.Duration("timeout", 10*time.Millisecond, "time budget of one call")
	times := fs.Bool("times", false, "also print how long each call took, and their mean and longest")
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
		return errors.New("usage: hookwire filter test <module.wasm> --events events.ndjson [--config cfg.json] [--times]")
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
	matches, faults, calls := 0, 0, 0
	var total, longest float64
	for _, v := range verdicts {
		took := ""
		if *times && v.CallMicros > 0 {
			took = fmt.Sprintf("\t%.1f µs", v.CallMicros)
			calls, total, longest = calls+1, total+v.CallMicros, max(longest, v.CallMicros)
		}
		switch {
		case v.Fault != "":
			faults++
			fmt.Fprintf(out, "%d\tfault%s\t%s\n", v.Index+1, took, v.Fault)
		case v.Match:
			matches++
			fmt.Fprintf(out, "%d\tmatch%s\n", v.Index+1, took)
		default:
			fmt.Fprintf(out, "%d\tno match%s\n", v.Index+1, took)
		}
		for _, line := range v.Logs {
			fmt.Fprintf(out, "\tlog: %s\n", line)
		}
	}
	fmt.Fprintf(out, "%d events, %d matches, %d faults\n", len(verdicts), matches, faults)
	if calls > 0 {
		fmt.Fprintf(out, "%d calls: mean %.1f µs, longest %.1f µs (the budget is %s)\n", calls, total/float64(calls), longest, *timeout)
	}
	return nil
}

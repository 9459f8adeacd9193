// Command hookwire is the behavioural webhook engine: `hookwire serve` runs
// it, `hookwire receive` is an example receiver that verifies signatures.
package main

import (
	"fmt"
	"os"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

const usage = `hookwire — behavioural webhooks from user events

usage:
  hookwire serve   [flags]   run the engine (hookwire serve -h for flags)
  hookwire receive [flags]   run an example receiver that verifies and prints webhooks
  hookwire filter test <module.wasm> --events events.ndjson [--config cfg.json]
                             run a filter over events without a server
  hookwire ceiling [--listen addr]
                             parse-and-202 endpoint: the benchmark's ingest ceiling
  hookwire version           print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "receive":
		err = receive(os.Args[2:])
	case "filter":
		err = filterCommand(os.Args[2:], os.Stdout)
	case "ceiling":
		err = ceiling(os.Args[2:])
	case "version", "--version":
		fmt.Println("hookwire", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "hookwire: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookwire:", err)
		os.Exit(1)
	}
}

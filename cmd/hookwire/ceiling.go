package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/hookwire/hookwire/engine/httpapi"
)

// ceiling is `hookwire ceiling`: an ingest endpoint that only parses and
// answers 202, which the benchmark harness measures as the ceiling of
// what any ingest path can do on this machine.
func ceiling(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7071", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The runtime as `hookwire serve` sets it up, so the ceiling is
	// measured under the engine's conditions.
	addSpareProcs(defaultExtraProcs)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ceiling endpoint on http://%s/v1/events\n", ln.Addr())
	return httpapi.ServeCeiling(ln, 10<<20, 10000)
}

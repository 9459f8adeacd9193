// Command hookwire-bench runs hookwire's harness scenarios against a real
// hookwire binary: `hookwire-bench load` measures it, `hookwire-bench
// crash` is the kill -9 test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/hookwire/hookwire/bench"
)

const usage = `usage:
  hookwire-bench load  [flags]   a load scenario: throughput, latency, ceilings (load -h)
  hookwire-bench scaling [flags] the standard scenario by streams, sessions, durability (scaling -h)
  hookwire-bench crash [flags]   the kill -9 test (crash -h)`

func main() {
	// The generator shares the machine with the server it measures; its
	// heap is small, so it collects rarely rather than competing for the
	// cores (and its pauses would count as the server's latency).
	debug.SetGCPercent(400)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "crash":
		crash()
	case "load":
		load()
	case "scaling":
		scaling()
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func load() {
	cfg := bench.DefaultLoadConfig()
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	fs.StringVar(&cfg.Name, "name", cfg.Name, "scenario name (results files are named after it)")
	fs.StringVar(&cfg.Binary, "binary", cfg.Binary, "hookwire executable")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured load duration")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "load before the measured window, not recorded (sessions made, heap settled)")
	fs.IntVar(&cfg.Producers, "producers", cfg.Producers, "concurrent producers")
	fs.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "events per request")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "sessions")
	fs.IntVar(&cfg.Streams, "streams", cfg.Streams, "streams")
	fs.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "what the streams watch: mixed (the standard) or keyed (eq on each stream's own button, page, SKU)")
	fs.IntVar(&cfg.FilterStreams, "filter-streams", cfg.FilterStreams, "streams that fire through an uploaded Wasm filter (needs wat2wasm)")
	fs.IntVar(&cfg.MatchEvery, "match-every", cfg.MatchEvery, "one session in this many fires a stream")
	fs.BoolVar(&cfg.EventIDs, "event-ids", cfg.EventIDs, "give every event a producer id, which the server deduplicates on")
	fs.BoolVar(&cfg.NDJSON, "ndjson", cfg.NDJSON, "send batches as NDJSON (one event per line) instead of JSON arrays")
	fs.IntVar(&cfg.StatefulStreams, "stateful-streams", cfg.StatefulStreams, "streams that also count every click in the session's state through a Wasm filter (needs wat2wasm)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop at this many events/s (0: closed loop)")
	fs.BoolVar(&cfg.HalfOfMaximum, "half-of-max", false, "find the maximum with a closed-loop run first, then run open loop at half of it")
	fs.StringVar(&cfg.Durability, "durability", cfg.Durability, "server --durability")
	fs.BoolVar(&cfg.Ceilings, "ceilings", cfg.Ceilings, "also measure the parse-only ingest ceiling and the receiver's maximum")
	fs.StringVar(&cfg.OutDir, "out", cfg.OutDir, "results directory (empty: none)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write the server's CPU profile of the measured load here")
	fs.StringVar(&cfg.HeapProfile, "heapprofile", "", "write the server's heap profile, taken after the load drained, here")
	fs.StringVar(&cfg.Trace, "trace", "", "write an execution trace of the server's first 5 s of measured load here (go tool trace)")
	// The harness shares the cores with the server, so what it spends is
	// part of every figure: its own profile shows where.
	harnessProfile := fs.String("harness-cpuprofile", "", "write the harness's own CPU profile of the whole run here")
	var serverArgs string
	fs.StringVar(&serverArgs, "server-args", "", "extra `flags` for hookwire serve, space-separated")
	var serverEnv string
	fs.StringVar(&serverEnv, "server-env", "", "extra `NAME=value` environment for hookwire serve, space-separated (e.g. GOGC=400)")
	fs.Parse(os.Args[2:])
	cfg.ServerArgs = strings.Fields(serverArgs)
	cfg.ServerEnv = strings.Fields(serverEnv)
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *harnessProfile != "" {
		f, err := os.Create(*harnessProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "hookwire-bench: harness profile:", err)
			os.Exit(1)
		}
		defer f.Close()
	}
	report, err := bench.RunLoad(ctx, cfg)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookwire-bench:", err)
		os.Exit(1)
	}
	fmt.Print(report)
	if report.Lost > 0 {
		fmt.Fprintln(os.Stderr, "hookwire-bench: webhooks were lost")
		os.Exit(1)
	}
}

func scaling() {
	cfg := bench.DefaultScalingConfig()
	fs := flag.NewFlagSet("scaling", flag.ExitOnError)
	fs.StringVar(&cfg.Base.Binary, "binary", cfg.Base.Binary, "hookwire executable")
	fs.DurationVar(&cfg.Base.Duration, "duration", cfg.Base.Duration, "measured load per variant")
	fs.DurationVar(&cfg.Base.Warmup, "warmup", cfg.Base.Warmup, "load before each variant's measured window, not recorded")
	fs.StringVar(&cfg.OutDir, "out", cfg.OutDir, "results directory (empty: none)")
	fs.Parse(os.Args[2:])
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := bench.RunScaling(ctx, cfg)
	fmt.Print(bench.ScalingTable(rows))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookwire-bench:", err)
		os.Exit(1)
	}
}

func crash() {
	cfg := bench.DefaultCrashConfig()
	fs := flag.NewFlagSet("crash", flag.ExitOnError)
	fs.StringVar(&cfg.Binary, "binary", cfg.Binary, "hookwire executable")
	fs.IntVar(&cfg.Kills, "kills", cfg.Kills, "SIGKILLs to deliver")
	fs.IntVar(&cfg.Producers, "producers", cfg.Producers, "concurrent producers")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "sessions in the workload")
	fs.IntVar(&cfg.EventsPerSession, "events-per-session", cfg.EventsPerSession, "events per session")
	fs.DurationVar(&cfg.MinUptime, "min-uptime", cfg.MinUptime, "shortest time between restart and kill")
	fs.DurationVar(&cfg.MaxUptime, "max-uptime", cfg.MaxUptime, "longest time between restart and kill")
	fs.Float64Var(&cfg.FailureRate, "failure-rate", cfg.FailureRate, "share of webhooks the receiver answers 500")
	fs.DurationVar(&cfg.ReceiverDelay, "receiver-delay", cfg.ReceiverDelay, "longest receiver answer time")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "workload seed")
	fs.StringVar(&cfg.DataDir, "data", "", "keep the server's data and log here (default: a temporary directory)")
	fs.Parse(os.Args[2:])
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := bench.RunCrash(ctx, cfg)
	fmt.Println(report)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookwire-bench:", err)
		os.Exit(1)
	}
	if !report.OK() {
		fmt.Fprintln(os.Stderr, "hookwire-bench:", bench.ErrCrashTestFailed)
		os.Exit(1)
	}
}

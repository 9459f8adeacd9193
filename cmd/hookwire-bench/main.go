// Command hookwire-bench runs hookwire's harness scenarios against a real
// hookwire binary: `hookwire-bench crash` is the kill -9 test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookwire/hookwire/bench"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "crash" {
		fmt.Fprintln(os.Stderr, "usage: hookwire-bench crash [flags]   (hookwire-bench crash -h)")
		os.Exit(2)
	}
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

package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hookwire/hookwire/engine/delivery"
)

// parseWithEnv parses args, then fills every flag not given on the command
// line from HOOKWIRE_<NAME> (dashes become underscores), so containers can
// be configured through the environment. A bad value names its source.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := "HOOKWIRE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, serr)
			}
		}
	})
	return err
}

// scheduleFlag is a comma-separated list of durations.
type scheduleFlag struct{ delays *[]time.Duration }

func (s scheduleFlag) String() string {
	if s.delays == nil {
		return ""
	}
	parts := make([]string, len(*s.delays))
	for i, d := range *s.delays {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func (s scheduleFlag) Set(v string) error {
	delays, err := delivery.ParseSchedule(v)
	if err != nil {
		return err
	}
	*s.delays = delays
	return nil
}

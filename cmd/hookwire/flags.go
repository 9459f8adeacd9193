package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
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
	var out []time.Duration
	for i, part := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < 0 {
			return fmt.Errorf("entry %d (%q) is not a non-negative duration like 0s, 5s, 5m or 2h", i+1, part)
		}
		out = append(out, d)
	}
	*s.delays = out
	return nil
}

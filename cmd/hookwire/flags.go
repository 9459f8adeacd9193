package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hookwire/hookwire/engine/delivery"
)

// parseWithEnv parses args, then fills every flag not given on the command
// line from HOOKWIRE_<NAME> (dashes become underscores), so containers can
// be configured through the environment, then from the config file named
// by --config, if the flag set has one. Precedence: command line,
// environment, file, default. A bad value names its source.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return explainParseError(fs, err)
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
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, explainValue(f, serr))
			}
			given[f.Name] = true
		}
	})
	if err != nil {
		return err
	}
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		return applyConfigFile(fs, cf.Value.String(), given)
	}
	return nil
}

func envName(flagName string) string {
	return "HOOKWIRE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfigFile sets every flag named in a YAML file (keys are the flag
// names without --) that the command line and the environment left alone.
// Unknown keys and bad values are errors naming the key.
func applyConfigFile(fs *flag.FlagSet, path string, given map[string]bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("config file %s: not YAML: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: want a mapping of flag names to values", path)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		f := fs.Lookup(k.Value)
		if f == nil || k.Value == "config" {
			return fmt.Errorf("config file %s, line %d: unknown key %q (keys are the flags of `hookwire serve -h`, without --)",
				path, k.Line, k.Value)
		}
		value, err := scalarOrList(v)
		if err != nil {
			return fmt.Errorf("config file %s, line %d: key %q: %v", path, v.Line, k.Value, err)
		}
		if given[k.Value] {
			continue
		}
		if err := fs.Set(k.Value, value); err != nil {
			return fmt.Errorf("config file %s, line %d: key %q: %v", path, v.Line, k.Value, explainValue(f, err))
		}
	}
	return nil
}

// badFlagValue is how the flag package reports a value it cannot parse.
var badFlagValue = regexp.MustCompile(`^invalid value "(.*)" for flag -([A-Za-z0-9-]+): `)

// explainParseError rewords the flag package's "parse error" for a value
// on the command line, as explainValue does for the environment.
func explainParseError(fs *flag.FlagSet, err error) error {
	m := badFlagValue.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	if f := fs.Lookup(m[2]); f != nil {
		return fmt.Errorf("--%s %q: %v", m[2], m[1], explainValue(f, err))
	}
	return err
}

// explainValue says what a flag wants when the flag package's own answer
// is only "parse error" (numbers, booleans, durations).
func explainValue(f *flag.Flag, err error) error {
	getter, ok := f.Value.(flag.Getter)
	if !ok || !strings.Contains(err.Error(), "parse error") {
		return err
	}
	switch getter.Get().(type) {
	case bool:
		return fmt.Errorf("want true or false")
	case int, int64, uint, uint64:
		return fmt.Errorf("want a whole number")
	case float64:
		return fmt.Errorf("want a number")
	case time.Duration:
		return fmt.Errorf("want a duration such as 30s, 10m or 2h")
	}
	return err
}

// scalarOrList renders a YAML value as a flag value: scalars as written,
// a list of scalars (e.g. retry-schedule) comma-joined.
func scalarOrList(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return v.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("a list may hold only plain values")
			}
			parts = append(parts, item.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("want a value or a list of values")
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

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

func testFlags() (*flag.FlagSet, *string, *time.Duration, *[]time.Duration, *bool) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7070", "")
	idle := fs.Duration("session-idle", 30*time.Minute, "")
	var schedule []time.Duration
	fs.Var(scheduleFlag{&schedule}, "retry-schedule", "")
	dev := fs.Bool("dev", false, "")
	fs.String("config", "", "")
	return fs, listen, idle, &schedule, dev
}

func writeConfig(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "hookwire.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	return path
}

func TestConfigFileEnvAndFlagsPrecedence(t *testing.T) {
	path := writeConfig(t, "listen: 127.0.0.1:9999\nsession-idle: 5m\nretry-schedule: [0s, 1s, 1m]\ndev: true\n")
	t.Setenv("HOOKWIRE_SESSION_IDLE", "7m")
	fs, listen, idle, schedule, dev := testFlags()
	if err := parseWithEnv(fs, []string{"--config", path, "--listen", "127.0.0.1:1234"}); err != nil {
		t.Fatal(err)
	}
	if *listen != "127.0.0.1:1234" {
		t.Errorf("listen = %s: the command line must win over the file", *listen)
	}
	if *idle != 7*time.Minute {
		t.Errorf("session-idle = %s: the environment must win over the file", *idle)
	}
	if len(*schedule) != 3 || (*schedule)[2] != time.Minute || !*dev {
		t.Errorf("from the file: schedule %v, dev %v", *schedule, *dev)
	}
}

func TestConfigFileErrorsNameTheKey(t *testing.T) {
	tests := []struct{ text, mentions string }{
		{"listn: 127.0.0.1:1\n", `unknown key "listn"`},
		{"session-idle: soon\n", `line 1: key "session-idle": want a duration such as 30s, 10m or 2h`},
		{"dev: maybe\n", `key "dev": want true or false`},
		{"retry-schedule: [0s, {a: 1}]\n", `key "retry-schedule"`},
		{"- just\n- a list\n", "mapping"},
		{"listen: [unclosed\n", "not YAML"},
	}
	for _, tc := range tests {
		fs, _, _, _, _ := testFlags()
		err := parseWithEnv(fs, []string{"--config", writeConfig(t, tc.text)})
		if err == nil || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("%q: %v, want an error mentioning %s", tc.text, err, tc.mentions)
		}
	}
}

// TestEnvironmentErrorsSayWhatIsWanted: a bad HOOKWIRE_* value names the
// variable and what it wants, not the flag package's "parse error".
func TestEnvironmentErrorsSayWhatIsWanted(t *testing.T) {
	for name, tc := range map[string]struct{ value, mentions string }{
		"HOOKWIRE_SESSION_IDLE":   {"5", `HOOKWIRE_SESSION_IDLE="5": want a duration such as 30s, 10m or 2h`},
		"HOOKWIRE_DEV":            {"maybe", `HOOKWIRE_DEV="maybe": want true or false`},
		"HOOKWIRE_RETRY_SCHEDULE": {"0s,x", `HOOKWIRE_RETRY_SCHEDULE="0s,x": entry 2`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, tc.value)
			fs, _, _, _, _ := testFlags()
			if err := parseWithEnv(fs, nil); err == nil || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("%v, want an error mentioning %s", err, tc.mentions)
			}
		})
	}
}

// TestCommandLineErrorsSayWhatIsWanted: the same for a bad value on the
// command line (the flag package prints its usage too).
func TestCommandLineErrorsSayWhatIsWanted(t *testing.T) {
	fs, _, _, _, _ := testFlags()
	fs.SetOutput(io.Discard)
	err := parseWithEnv(fs, []string{"--session-idle", "5"})
	if want := `--session-idle "5": want a duration such as 30s, 10m or 2h`; err == nil || err.Error() != want {
		t.Fatalf("%v, want %q", err, want)
	}
}

// TestExampleConfigFile: the documented example sets real serve flags and
// yields a configuration the engine accepts.
func TestExampleConfigFile(t *testing.T) {
	cfg := engine.DefaultConfig()
	fs, proc := serveFlags(&cfg)
	t.Setenv("HOOKWIRE_ADMIN_KEY", "from-the-environment")
	if err := parseWithEnv(fs, []string{"--config", "../../docs/hookwire.example.yaml"}); err != nil {
		t.Fatal(err)
	}
	if cfg.OrgID != "acme" || cfg.Listen != "0.0.0.0:7070" || len(cfg.RetrySchedule) != 8 || proc.logFormat != "json" ||
		cfg.AdminKey != "from-the-environment" || cfg.FilterTimeout != 10*time.Millisecond {
		t.Fatalf("config = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example config does not validate: %v", err)
	}
}

// TestEventLogSegmentFlag: --event-log-segment-bytes reaches the
// configuration, and a value below the minimum is refused by name.
func TestEventLogSegmentFlag(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{{"65536", true}, {"1048576", true}, {"4096", false}, {"0", false}, {"-1", false}} {
		cfg := engine.DefaultConfig()
		fs, _ := serveFlags(&cfg)
		if err := parseWithEnv(fs, []string{"--dev", "--event-log-segment-bytes", tc.value}); err != nil {
			t.Fatal(err)
		}
		err := cfg.Validate()
		switch {
		case tc.ok && (err != nil || fmt.Sprint(cfg.EventLogSegmentBytes) != tc.value):
			t.Errorf("--event-log-segment-bytes %s: %v, segment bytes %d", tc.value, err, cfg.EventLogSegmentBytes)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "--event-log-segment-bytes")):
			t.Errorf("--event-log-segment-bytes %s: %v, want an error naming the flag", tc.value, err)
		}
	}
}

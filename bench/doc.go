// Package bench drives a real hookwire process over HTTP the way producers
// and receivers do, to measure it and to break it on purpose. Each scenario
// is a Config struct and a Run function; cmd/hookwire-bench binds flags to
// them (pebble's bench/ + cmd/pebble).
//
//   - RunCrash: kill -9 the server again and again under load and check
//     against the producers' own record that nothing accepted was lost and
//     nothing fired twice.
package bench

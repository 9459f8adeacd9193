// Package lint holds tests that keep the house in order: which package may
// import which (pebble's internal/lint is the model).
package lint

//go:build !unix

package engine

// connectionLimits are the defaults of --max-connections and
// --max-outbound-connections where the open-file limit cannot be read.
func connectionLimits() (clients, receivers int) { return 10000, 2048 }

//go:build !unix

package engine

// connectionLimit is the default --max-connections where the open-file
// limit cannot be read.
func connectionLimit() int { return 10000 }

//go:build !unix

package main

import "os"

// redirectStdout cannot move descriptors here; takeStdout still points
// os.Stdout at standard error for writers that look it up late.
func redirectStdout() *os.File {
	return os.Stdout
}

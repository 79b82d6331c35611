//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStdout duplicates file descriptor 1 for the events and then makes
// descriptor 1 a copy of descriptor 2, so that writers holding the original
// *os.File for standard output also end up on standard error.
func redirectStdout() *os.File {
	fd, err := unix.Dup(1)
	if err != nil {
		return os.Stdout
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup2(2, 1); err != nil {
		_ = unix.Close(fd)
		return os.Stdout
	}
	return os.NewFile(uintptr(fd), "events")
}

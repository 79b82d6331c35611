package main

import (
	"os"

	"github.com/yomorun/yomo/core/ylog"
)

// takeStdout keeps the process's standard output for the JSON events and
// points everything else that would write to standard output at standard
// error instead. YoMo's default logger writes its non-error records to
// standard output, and its clients print a status line there on connect.
func takeStdout() *os.File {
	events := redirectStdout()
	os.Stdout = os.Stderr
	// The package-level default logger was built at init time, before the
	// redirection; rebuild it so that it, too, follows os.Stdout.
	ylog.SetDefault(ylog.Default())
	return events
}

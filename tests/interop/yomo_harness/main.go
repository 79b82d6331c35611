// Command yomo-harness runs YoMo parts (zipper, source, stream function) for
// interoperability tests. Every subcommand writes line-delimited JSON events
// to stdout; YoMo's own log output goes to stderr.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const usage = `usage: yomo-harness <subcommand> [flags]

subcommands:
  zipper --config FILE
  source --zipper ADDR --name NAME --tag T [--count N] [--size BYTES] [--rate R]
         [--duration S] [--credential token:S] [--target T] [--idle S] [--hold S]
  sfn    --zipper ADDR --name NAME --observe T[,T...] [--reply T] [--credential token:S]
         [--wanted-target X] [--meta-keys k1,k2] [--quiet] [--count-every MS]
  traced-source --zipper ADDR --name NAME --tag T [--count N] [--credential token:S] [--hold S]

Run "yomo-harness <subcommand> -h" for the flags of one subcommand.
`

// Exit codes.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitConnectError = 3
)

// emitter writes one JSON object per line; a line is a single write call.
type emitter struct {
	mu  sync.Mutex
	out *os.File
}

var out *emitter

// field is one key of an event, kept in the order given.
type field struct {
	key   string
	value any
}

func kv(key string, value any) field { return field{key, value} }

// emit writes {"event":event, key: value, ...}.
func (e *emitter) emit(event string, fields ...field) {
	var b strings.Builder
	b.WriteString(`{"event":`)
	b.Write(mustJSON(event))
	for _, f := range fields {
		b.WriteByte(',')
		b.Write(mustJSON(f.key))
		b.WriteByte(':')
		b.Write(mustJSON(f.value))
	}
	b.WriteString("}\n")
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.out.WriteString(b.String())
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprintf("unencodable value: %v", err))
	}
	return b
}

// parseTag reads a tag in decimal or with a 0x prefix in hexadecimal.
func parseTag(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	var (
		v   uint64
		err error
	)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err = strconv.ParseUint(s[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(s, 10, 32)
	}
	if err != nil {
		return 0, fmt.Errorf("invalid tag %q: want decimal or 0x hex uint32", s)
	}
	return uint32(v), nil
}

// parseTags reads a comma-separated list of tags.
func parseTags(s string) ([]uint32, error) {
	var tags []uint32
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		t, err := parseTag(part)
		if err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, nil
}

// seconds turns a flag value in seconds into a duration.
func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

// fail reports a usage or setup problem as an event and exits.
func fail(code int, event string, err error) {
	out.emit(event, kv("error", err.Error()))
	os.Exit(code)
}

func main() {
	out = &emitter{out: takeStdout()}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(exitUsage)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "zipper":
		os.Exit(runZipper(args))
	case "source":
		os.Exit(runSource(args))
	case "sfn":
		os.Exit(runSfn(args))
	case "traced-source":
		os.Exit(runTracedSource(args))
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stderr, usage)
		os.Exit(exitOK)
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q\n\n%s", os.Args[1], usage)
		os.Exit(exitUsage)
	}
}

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yomorun/yomo"
	"github.com/yomorun/yomo/core/metadata"
	"github.com/yomorun/yomo/serverless"
)

// sourceCount is what the stream function has seen from one source id.
type sourceCount struct {
	frames     int64
	duplicates int64
	seen       map[int64]struct{}
}

// counters are shared by the handler goroutines YoMo starts, one per frame.
type counters struct {
	mu          sync.Mutex
	frames      int64
	duplicates  int64
	bytes       int64
	replyErrors int64
	bySource    map[string]*sourceCount
	version     int64 // bumped on every change
}

func (c *counters) record(sourceID string, seq int64, length int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sc := c.bySource[sourceID]
	if sc == nil {
		sc = &sourceCount{seen: make(map[int64]struct{})}
		c.bySource[sourceID] = sc
	}
	sc.frames++
	c.frames++
	c.bytes += int64(length)
	if seq >= 0 {
		if _, dup := sc.seen[seq]; dup {
			sc.duplicates++
			c.duplicates++
		} else {
			sc.seen[seq] = struct{}{}
		}
	}
	c.version++
}

// replyFailed counts a failed reply and says whether it was the first.
func (c *counters) replyFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replyErrors++
	c.version++
	return c.replyErrors == 1
}

// emitCount prints the counters if they changed since printedVersion (or
// always when force) and returns the version printed.
func (c *counters) emitCount(printedVersion int64, force bool) int64 {
	c.mu.Lock()
	if !force && c.version == printedVersion {
		c.mu.Unlock()
		return printedVersion
	}
	perSource := make(map[string]map[string]int64, len(c.bySource))
	for id, sc := range c.bySource {
		perSource[id] = map[string]int64{"frames": sc.frames, "duplicates": sc.duplicates}
	}
	frames, duplicates, bytes, replyErrors, version := c.frames, c.duplicates, c.bytes, c.replyErrors, c.version
	c.mu.Unlock()
	out.emit("count", kv("frames", frames), kv("duplicates", duplicates), kv("bytes", bytes),
		kv("reply_errors", replyErrors), kv("sources", perSource))
	return version
}

func runSfn(args []string) int {
	fs := flag.NewFlagSet("sfn", flag.ExitOnError)
	zipper := fs.String("zipper", "", "zipper address HOST:PORT")
	name := fs.String("name", "yomo-harness-sfn", "stream function name")
	observeText := fs.String("observe", "", "observed tags, comma-separated, decimal or 0x hex")
	replyText := fs.String("reply", "", "reply to every frame with its payload under this tag (default: no reply, a sink)")
	credential := fs.String("credential", "", "credential, e.g. token:SECRET")
	wantedTarget := fs.String("wanted-target", "", "only receive frames written with this target")
	metaKeysText := fs.String("meta-keys", "", "metadata keys to report, comma-separated (besides yomo-source-id and yomo-tid)")
	quiet := fs.Bool("quiet", false, "do not print an event per frame")
	countEvery := fs.Int("count-every", 200, "print the counters every this many milliseconds when they changed")
	_ = fs.Parse(args)

	if *zipper == "" || *observeText == "" {
		fmt.Fprintln(os.Stderr, "sfn: --zipper and --observe are required")
		fs.Usage()
		return exitUsage
	}
	observe, err := parseTags(*observeText)
	if err != nil {
		fail(exitUsage, "usage_error", err)
	}
	if len(observe) == 0 {
		fail(exitUsage, "usage_error", fmt.Errorf("--observe names no tag"))
	}
	reply := false
	var replyTag uint32
	if *replyText != "" {
		if replyTag, err = parseTag(*replyText); err != nil {
			fail(exitUsage, "usage_error", err)
		}
		reply = true
	}
	if *countEvery <= 0 {
		fail(exitUsage, "usage_error", fmt.Errorf("--count-every must be positive"))
	}
	var metaKeys []string
	for _, k := range strings.Split(*metaKeysText, ",") {
		if k = strings.TrimSpace(k); k != "" {
			metaKeys = append(metaKeys, k)
		}
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	var opts []yomo.SfnOption
	if *credential != "" {
		opts = append(opts, yomo.WithSfnCredential(*credential))
	}
	sfn := yomo.NewStreamFunction(*name, *zipper, opts...)
	sfn.SetObserveDataTags(observe...)
	if *wantedTarget != "" {
		sfn.SetWantedTarget(*wantedTarget)
	}

	counts := &counters{bySource: make(map[string]*sourceCount)}
	handler := func(ctx serverless.Context) {
		data := ctx.Data()
		seq := int64(-1)
		if len(data) >= 8 {
			seq = int64(binary.BigEndian.Uint64(data))
		}
		sourceID, _ := ctx.Metadata(metadata.SourceIDKey)
		counts.record(sourceID, seq, len(data))
		if !*quiet {
			tid, _ := ctx.Metadata(metadata.TIDKey)
			meta := make(map[string]string, len(metaKeys))
			for _, k := range metaKeys {
				if v, ok := ctx.Metadata(k); ok {
					meta[k] = v
				}
			}
			out.emit("frame", kv("tag", ctx.Tag()), kv("len", len(data)), kv("seq", seq),
				kv("source_id", sourceID), kv("tid", tid), kv("meta", meta))
		}
		if reply {
			// Context.Write keeps the incoming frame's metadata.
			if err := ctx.Write(replyTag, data); err != nil && counts.replyFailed() {
				out.emit("reply_error", kv("seq", seq), kv("error", err.Error()))
			}
		}
	}
	if err := sfn.SetHandler(handler); err != nil {
		fail(exitFailure, "setup_error", err)
	}
	// Set before Connect: YoMo also hands connect errors to this handler.
	var closing atomic.Bool
	sfn.SetErrorHandler(func(err error) { reportError(err, closing.Load()) })

	if err := sfn.Connect(); err != nil {
		out.emit("connect_error", kv("error", err.Error()))
		return exitConnectError
	}
	out.emit("connected")

	ticker := time.NewTicker(time.Duration(*countEvery) * time.Millisecond)
	defer ticker.Stop()
	var printed int64
	for {
		select {
		case <-ticker.C:
			printed = counts.emitCount(printed, false)
		case sig := <-sigs:
			out.emit("signal", kv("signal", sig.String()))
			closing.Store(true)
			closeWithin(sfn.Close, 5*time.Second)
			counts.emitCount(printed, true)
			out.emit("exit")
			return exitOK
		}
	}
}

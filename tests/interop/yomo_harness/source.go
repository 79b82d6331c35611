package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yomorun/yomo"
)

func runSource(args []string) int {
	fs := flag.NewFlagSet("source", flag.ExitOnError)
	zipper := fs.String("zipper", "", "zipper address HOST:PORT")
	name := fs.String("name", "yomo-harness-source", "source name")
	tagText := fs.String("tag", "", "data tag, decimal or 0x hex")
	count := fs.Int("count", 1, "number of frames to write")
	size := fs.Int("size", 8, "payload size in bytes (>= 8: an 8-byte big-endian sequence number, then filler)")
	rate := fs.Float64("rate", 0, "frames per second (0 = as fast as possible)")
	duration := fs.Float64("duration", 0, "write for this many seconds instead of --count (0 = use --count)")
	credential := fs.String("credential", "", "credential, e.g. token:SECRET")
	target := fs.String("target", "", "write with this target (WriteWithTarget)")
	idle := fs.Float64("idle", 0, "seconds to wait after connecting before the first write")
	hold := fs.Float64("hold", 0, "seconds to stay connected after the last write")
	_ = fs.Parse(args)

	if *zipper == "" || *tagText == "" {
		fmt.Fprintln(os.Stderr, "source: --zipper and --tag are required")
		fs.Usage()
		return exitUsage
	}
	tag, err := parseTag(*tagText)
	if err != nil {
		fail(exitUsage, "usage_error", err)
	}
	if *size < 8 {
		fail(exitUsage, "usage_error", errors.New("--size must be at least 8"))
	}
	if *count < 0 || *rate < 0 || *duration < 0 || *idle < 0 || *hold < 0 {
		fail(exitUsage, "usage_error", errors.New("--count, --rate, --duration, --idle and --hold must not be negative"))
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	var opts []yomo.SourceOption
	if *credential != "" {
		opts = append(opts, yomo.WithCredential(*credential))
	}
	source := yomo.NewSource(*name, *zipper, opts...)
	// Set before Connect: YoMo also hands connect errors to this handler.
	var closing atomic.Bool
	source.SetErrorHandler(func(err error) { reportError(err, closing.Load()) })

	if err := source.Connect(); err != nil {
		out.emit("connect_error", kv("error", err.Error()))
		return exitConnectError
	}
	out.emit("connected")

	stopped := false
	pause := func(d time.Duration) {
		if d <= 0 || stopped {
			return
		}
		select {
		case <-time.After(d):
		case sig := <-sigs:
			out.emit("signal", kv("signal", sig.String()))
			stopped = true
		}
	}

	pause(seconds(*idle))

	filler := make([]byte, *size-8)
	for i := range filler {
		filler[i] = byte(i)
	}
	var written, writeErrors int64
	start := time.Now()
	deadline := start.Add(seconds(*duration))
	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) / *rate)
	}
	for seq := uint64(0); !stopped; seq++ {
		if *duration > 0 {
			if !time.Now().Before(deadline) {
				break
			}
		} else if seq >= uint64(*count) {
			break
		}
		if interval > 0 {
			pause(time.Until(start.Add(time.Duration(seq) * interval)))
			if stopped {
				break
			}
		} else {
			select {
			case sig := <-sigs:
				out.emit("signal", kv("signal", sig.String()))
				stopped = true
				continue
			default:
			}
		}
		// A fresh buffer per frame: YoMo encodes the frame after Write returns.
		payload := make([]byte, *size)
		binary.BigEndian.PutUint64(payload, seq)
		copy(payload[8:], filler)
		if *target != "" {
			err = source.WriteWithTarget(tag, payload, *target)
		} else {
			err = source.Write(tag, payload)
		}
		if err != nil {
			writeErrors++
			if writeErrors == 1 {
				out.emit("write_error", kv("seq", seq), kv("error", err.Error()))
			}
			continue
		}
		written++
	}
	elapsed := time.Since(start).Seconds()

	pause(seconds(*hold))

	closing.Store(true)
	closeWithin(source.Close, 5*time.Second)
	out.emit("done", kv("written", written), kv("write_errors", writeErrors), kv("seconds", elapsed))
	return exitOK
}

// closeWithin calls closeFn but gives up waiting after limit: a YoMo client
// whose connection was closed by the zipper can block in Close forever.
func closeWithin(closeFn func() error, limit time.Duration) {
	done := make(chan struct{})
	go func() {
		_ = closeFn()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		fmt.Fprintf(os.Stderr, "yomo-harness: Close did not return within %s\n", limit)
	}
}

// reportError prints an error YoMo handed to the error handler; duringClose
// marks the ones that come from this process closing its own client (YoMo
// reports "<type>: shutdown" then).
func reportError(err error, duringClose bool) {
	if duringClose {
		out.emit("error", kv("error", err.Error()), kv("during_close", true))
		return
	}
	out.emit("error", kv("error", err.Error()))
}

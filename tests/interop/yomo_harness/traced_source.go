package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/yomorun/yomo/core"
	"github.com/yomorun/yomo/core/frame"
	"github.com/yomorun/yomo/core/metadata"
	"github.com/yomorun/yomo/pkg/id"
	"github.com/yomorun/yomo/pkg/trace"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// runTracedSource writes frames that each start a trace, the way a YoMo application
// traces with YoMo's pkg/trace: trace.SetTracerProvider() exports over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, and Tracer.Start puts the span's ids into the
// frame's metadata (yomo-trace-id, yomo-span-id). YoMo's Source.Write takes no
// metadata and starts no span, so this source writes through YoMo's core client.
func runTracedSource(args []string) int {
	fs := flag.NewFlagSet("traced-source", flag.ExitOnError)
	zipper := fs.String("zipper", "", "zipper address HOST:PORT")
	name := fs.String("name", "yomo-traced-source", "source name (and span name)")
	tagText := fs.String("tag", "", "data tag, decimal or 0x hex")
	count := fs.Int("count", 1, "number of frames to write")
	credential := fs.String("credential", "", "credential, e.g. token:SECRET")
	hold := fs.Float64("hold", 1, "seconds to stay connected after the last write")
	_ = fs.Parse(args)

	if *zipper == "" || *tagText == "" {
		fmt.Fprintln(os.Stderr, "traced-source: --zipper and --tag are required")
		fs.Usage()
		return exitUsage
	}
	tag, err := parseTag(*tagText)
	if err != nil {
		fail(exitUsage, "usage_error", err)
	}
	if *count < 0 || *hold < 0 {
		fail(exitUsage, "usage_error", errors.New("--count and --hold must not be negative"))
	}

	trace.SetTracerProvider()
	var opts []core.ClientOption
	if *credential != "" {
		opts = append(opts, core.WithCredential(*credential))
	}
	client := core.NewClient(*name, *zipper, core.ClientTypeSource, opts...)
	if err := client.Connect(context.Background()); err != nil {
		out.emit("connect_error", kv("error", err.Error()))
		return exitConnectError
	}
	out.emit("connected")

	tracer := trace.NewTracer("Source")
	var written int64
	for seq := 0; seq < *count; seq++ {
		md := core.NewMetadata(client.ClientID(), id.New())
		span := tracer.Start(md, *name)
		payload := make([]byte, 8)
		binary.BigEndian.PutUint64(payload, uint64(seq))
		raw, err := md.Encode()
		if err == nil {
			err = client.WriteFrame(&frame.DataFrame{Tag: tag, Metadata: raw, Payload: payload})
		}
		tracer.End(md, span, attribute.Int("seq", seq))
		if err != nil {
			out.emit("write_error", kv("seq", seq), kv("error", err.Error()))
			continue
		}
		written++
		traceID, _ := md.Get(metadata.TraceIDKey)
		spanID, _ := md.Get(metadata.SpanIDKey)
		tid, _ := md.Get(metadata.TIDKey)
		out.emit("traced", kv("seq", seq), kv("trace_id", traceID), kv("span_id", spanID), kv("tid", tid))
	}
	time.Sleep(seconds(*hold))
	closeWithin(client.Close, 5*time.Second)

	// YoMo's ShutdownTracerProvider gives the exporter 5 ns: flush with time to spare.
	if tp, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.ForceFlush(ctx); err != nil {
			out.emit("flush_error", kv("error", err.Error()))
		}
		_ = tp.Shutdown(ctx)
	}
	out.emit("done", kv("written", written))
	return exitOK
}

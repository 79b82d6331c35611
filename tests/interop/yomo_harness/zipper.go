package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/yomorun/yomo"
	"github.com/yomorun/yomo/core"
	"github.com/yomorun/yomo/core/frame"
	"github.com/yomorun/yomo/core/ylog"
	"github.com/yomorun/yomo/pkg/config"
)

// signalWatchNotice is the message YoMo's zipper logs once its own signal
// watcher (started by yomo.NewZipper) has subscribed to SIGTERM/SIGINT.
const signalWatchNotice = "listening SIGUSR1, SIGUSR2, SIGTERM/SIGINT"

func runZipper(args []string) int {
	fs := flag.NewFlagSet("zipper", flag.ExitOnError)
	configPath := fs.String("config", "", "YoMo zipper config file (.yaml or .yml)")
	_ = fs.Parse(args)
	if *configPath == "" {
		fmt.Fprintln(os.Stderr, "zipper: --config is required")
		fs.Usage()
		return exitUsage
	}

	conf, err := config.ParseConfigFile(*configPath)
	if err != nil {
		fail(exitUsage, "config_error", err)
	}

	// The same options yomo.RunZipper builds from a config file.
	options := []yomo.ZipperOption{}
	if _, ok := conf.Auth["type"]; ok {
		if token, ok := conf.Auth["token"]; ok {
			options = append(options, yomo.WithAuth("token", token))
		}
	}
	options = append(options, yomo.WithZipperFrameMiddleware(core.RejectReservedTagMiddleware))

	udpAddr, err := net.ResolveUDPAddr("udp", fmt.Sprintf("%s:%d", conf.Host, conf.Port))
	if err != nil {
		fail(exitFailure, "listen_error", err)
	}
	conn, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		fail(exitFailure, "listen_error", err)
	}

	// yomo.NewZipper starts a signal watcher that calls os.Exit(0) on
	// SIGTERM/SIGINT. Watch for the log record it writes once subscribed,
	// then take those two signals over so that shutdown is reported.
	hook := newLogHook(ylog.Default().Handler(), signalWatchNotice)
	ylog.SetDefault(slog.New(hook))

	// The mesh is wired up below rather than by NewZipper: the downstream
	// clients NewZipper creates are only connected by ListenAndServe, and this
	// harness serves a socket it bound itself.
	z, err := yomo.NewZipper(conf.Name, nil, options...)
	if err != nil {
		fail(exitFailure, "zipper_error", err)
	}
	server, ok := z.(*core.Server)
	if !ok {
		fail(exitFailure, "zipper_error", fmt.Errorf("yomo.NewZipper returned %T, not *core.Server", z))
	}

	sigs := make(chan os.Signal, 1)
	select {
	case <-hook.seen:
		signal.Reset(syscall.SIGTERM, syscall.SIGINT)
	case <-time.After(5 * time.Second):
		fmt.Fprintln(os.Stderr, "yomo-harness: YoMo's signal watcher was not seen; shutdown may not be reported")
	}
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	downstreams := addMesh(server, conf)
	for _, ds := range downstreams {
		go func(ds *meshDownstream) { _ = ds.Connect(ctx) }(ds)
	}

	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, conn) }()

	out.emit("listening", kv("addr", conn.LocalAddr().String()), kv("name", conf.Name),
		kv("mesh", len(downstreams)))

	select {
	case err := <-served:
		if err != nil && !errors.Is(err, core.ErrServerClosed) {
			out.emit("serve_error", kv("error", err.Error()))
			return exitFailure
		}
	case sig := <-sigs:
		out.emit("signal", kv("signal", sig.String()))
		_ = server.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			fmt.Fprintln(os.Stderr, "yomo-harness: zipper did not stop within 5 s")
		}
		_ = conn.Close()
	}
	out.emit("exit")
	return exitOK
}

// meshDownstream is a downstream zipper this zipper forwards every frame to.
type meshDownstream struct {
	localName string
	client    *core.Client
}

var _ core.Downstream = (*meshDownstream)(nil)

func (d *meshDownstream) WriteFrame(f frame.Frame) error    { return d.client.WriteFrame(f) }
func (d *meshDownstream) ID() string                        { return d.client.ClientID() }
func (d *meshDownstream) LocalName() string                 { return d.localName }
func (d *meshDownstream) RemoteName() string                { return d.client.Name() }
func (d *meshDownstream) Close() error                      { return d.client.Close() }
func (d *meshDownstream) Connect(ctx context.Context) error { return d.client.Connect(ctx) }

// addMesh registers the config's mesh entries as downstreams of server, with
// the client options YoMo's zipper uses for them.
func addMesh(server *core.Server, conf config.Config) []*meshDownstream {
	var result []*meshDownstream
	for meshName, mesh := range conf.Mesh {
		if meshName == "" || meshName == conf.Name {
			continue
		}
		addr := fmt.Sprintf("%s:%d", mesh.Host, mesh.Port)
		logger := server.Logger().With("downstream_name", meshName, "downstream_addr", addr)
		client := core.NewClient(conf.Name, addr, core.ClientTypeUpstreamZipper,
			core.WithCredential(mesh.Credential),
			core.WithNonBlockWrite(),
			core.WithReConnect(),
			core.WithLogger(logger),
		)
		ds := &meshDownstream{localName: meshName, client: client}
		server.AddDownstreamServer(ds)
		result = append(result, ds)
	}
	return result
}

// logHook passes records on to inner and closes seen the first time a record
// whose message starts with prefix goes by, whatever the log level.
type logHook struct {
	inner  slog.Handler
	prefix string
	seen   chan struct{}
	once   *sync.Once
}

func newLogHook(inner slog.Handler, prefix string) *logHook {
	return &logHook{inner: inner, prefix: prefix, seen: make(chan struct{}), once: &sync.Once{}}
}

func (h *logHook) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHook) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.prefix) {
		h.once.Do(func() { close(h.seen) })
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

func (h *logHook) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHook{inner: h.inner.WithAttrs(attrs), prefix: h.prefix, seen: h.seen, once: h.once}
}

func (h *logHook) WithGroup(name string) slog.Handler {
	return &logHook{inner: h.inner.WithGroup(name), prefix: h.prefix, seen: h.seen, once: h.once}
}

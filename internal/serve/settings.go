package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/telemetry"
)

// Settings are the ones every service shares.
type Settings struct {
	Service   string // the service's name: rng, hasher, worker or webui
	Addr      string // where the HTTP server listens
	LogFormat string // text or json
	LogLevel  string
	Telemetry telemetry.Settings // OTEL_* variables: traces and metrics
}

// Register defines the shared settings of the named service on s, listening on addr by
// default.
func (c *Settings) Register(s *settings.Set, service, addr string) {
	c.Service = service
	s.String(&c.Addr, "addr", "ADDR", addr, "listen address")
	s.String(&c.LogFormat, "log-format", "LOG_FORMAT", "text", "log format: text or json")
	s.String(&c.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	c.Telemetry.Register(s, service)
}

// Logger returns the service's logger, writing to w.
func (c *Settings) Logger(w io.Writer) (*slog.Logger, error) {
	log, err := telemetry.NewLogger(w, c.LogFormat, c.LogLevel)
	if err != nil {
		return nil, err
	}
	return log.With("service", c.Service), nil
}

// Serve listens on the configured address and serves h until ctx is done. It is where
// every service joins the platform, so all four do it the same way.
func (c *Settings) Serve(ctx context.Context, log *slog.Logger, h http.Handler) error {
	tel, err := telemetry.Start(ctx, c.Telemetry, log)
	if err != nil {
		return err
	}
	defer func() {
		// Spans still queued are flushed, but a missing collector must not hold up the stop.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry shutdown", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	return HTTP(ctx, log, ln, tel.Handler(h))
}

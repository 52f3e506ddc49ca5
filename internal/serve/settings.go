package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/mesh"
	"github.com/dockercoins/dockercoins/telemetry"
)

// Settings are the ones every service shares.
type Settings struct {
	Service   string // the service's name: rng, hasher, worker or webui
	Addr      string // where the HTTP server listens
	LogFormat string // text or json
	LogLevel  string
	Consul    mesh.Registration // how the service registers itself in Consul
}

// Register defines the shared settings of the named service on s, listening on addr by
// default.
func (c *Settings) Register(s *settings.Set, service, addr string) {
	c.Service = service
	s.String(&c.Addr, "addr", "ADDR", addr, "listen address")
	s.String(&c.LogFormat, "log-format", "LOG_FORMAT", "text", "log format: text or json")
	s.String(&c.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	c.Consul.Register(s)
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
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	reg, err := c.Consul.Start(log, c.Service, ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	defer reg.Stop() // after serving ends: deregister
	return HTTP(ctx, log, ln, h)
}

package serve

import (
	"io"
	"log/slog"

	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/telemetry"
)

// Settings are the ones every service shares.
type Settings struct {
	Addr      string // where the HTTP server listens
	LogFormat string // text or json
	LogLevel  string
}

// Register defines the shared settings on s, listening on addr by default.
func (c *Settings) Register(s *settings.Set, addr string) {
	s.String(&c.Addr, "addr", "ADDR", addr, "listen address")
	s.String(&c.LogFormat, "log-format", "LOG_FORMAT", "text", "log format: text or json")
	s.String(&c.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
}

// Logger returns the service's logger, writing to w.
func (c *Settings) Logger(w io.Writer, service string) (*slog.Logger, error) {
	log, err := telemetry.NewLogger(w, c.LogFormat, c.LogLevel)
	if err != nil {
		return nil, err
	}
	return log.With("service", service), nil
}

package serve

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/consul/api"

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
	Mesh      bool              // speak Consul Connect: mTLS and intentions
	// Edge marks a service that people and agents call, never mesh peers (webui, and
	// the worker's status page): with the mesh on it still serves plain HTTP, and uses
	// the mesh only to call its own peers.
	Edge bool

	identity  *mesh.Identity
	authz     *mesh.Authorizer
	Telemetry telemetry.Settings // OTEL_* variables: traces and metrics
}

// Register defines the shared settings of the named service on s, listening on addr by
// default.
func (c *Settings) Register(s *settings.Set, service, addr string) {
	c.Service = service
	s.String(&c.Addr, "addr", "ADDR", addr, "listen address")
	s.String(&c.LogFormat, "log-format", "LOG_FORMAT", "text", "log format: text or json")
	s.String(&c.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	c.Consul.Register(s)
	c.Telemetry.Register(s, service)
	s.Bool(&c.Mesh, "mesh", "MESH", false, "serve and call peers over Consul Connect mTLS, authorized by intentions")
}

// Identity returns the service's Connect identity when the mesh is on, nil when off.
// The first call fetches it from the local agent, waiting up to a minute.
func (c *Settings) Identity(ctx context.Context, log *slog.Logger) (*mesh.Identity, error) {
	if !c.Mesh || c.identity != nil {
		return c.identity, nil
	}
	client, err := api.NewClient(&api.Config{Address: c.Consul.ConsulHTTP})
	if err != nil {
		return nil, fmt.Errorf("mesh: consul at %q: %w", c.Consul.ConsulHTTP, err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// The identity outlives this wait: its certificates follow rotations until ctx ends.
	id, err := mesh.NewIdentity(ctx, wctx, client, c.Service, log)
	if err != nil {
		return nil, err
	}
	c.identity = id
	c.authz = &mesh.Authorizer{Agent: client.Agent()}
	log.Info("mesh on: connect-native", "spiffe_id", id.URI())
	return id, nil
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
	id, err := c.Identity(ctx, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	if id != nil && !c.Edge {
		c.Consul.Native = true
		h = mesh.Authorize(log, id, c.authz, h)
		ln = tls.NewListener(ln, id.ServerTLS())
	}
	reg, err := c.Consul.Start(log, c.Service, ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	defer reg.Stop() // after serving ends: deregister
	return HTTP(ctx, log, ln, tel.Handler(h))
}

// Package platform joins a DockerCoins service to what it runs on, in one order for all
// four services: its logger, then telemetry, then (mesh on) its Connect identity, which
// the peers it calls and the listener it serves on both need, then the listener, its
// Consul registration and the HTTP server. Start does the first three and returns the
// Platform that the rest hang off, so nothing can be used before what it depends on.
package platform

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/telemetry"
)

// flushTimeout bounds how long a stopping service waits for its spans to be exported:
// a missing collector must not hold up the stop.
const flushTimeout = 2 * time.Second

// Platform is a running service's place on the platform.
type Platform struct {
	Log *slog.Logger

	settings Settings
	tel      *telemetry.Telemetry
	identity *consul.Identity // nil: the mesh is off
	authz    *consul.Authorizer
}

// Start makes the logger (writing to stdout), starts telemetry and, with the mesh on,
// fetches the service's Connect identity from the local agent (waiting up to a
// minute). Close undoes it.
func Start(ctx context.Context, c Settings, stdout io.Writer) (*Platform, error) {
	if err := c.Limits.Check(); err != nil {
		return nil, err
	}
	if c.GCPercent < 0 {
		return nil, fmt.Errorf("GOGC must be a whole number of at least 0 (0: the services' default), got %d", c.GCPercent)
	}
	if c.Mesh && c.AuthzTimeout <= 0 {
		return nil, fmt.Errorf("MESH_AUTHZ_TIMEOUT must be above zero, got %s", c.AuthzTimeout)
	}
	log, err := telemetry.NewLogger(stdout, c.LogFormat, c.LogLevel)
	if err != nil {
		return nil, err
	}
	p := &Platform{Log: log.With("service", c.Service), settings: c}
	if p.tel, err = telemetry.Start(ctx, c.Telemetry, p.Log); err != nil {
		return nil, err
	}
	debug.SetGCPercent(gcPercent(c.GCPercent, p.tel.Tracing()))
	if p.tel.Tracing() && debug.SetMemoryLimit(-1) == math.MaxInt64 { // GOMEMLIMIT unset
		debug.SetMemoryLimit(TracedMemoryLimit)
	}
	if c.Mesh {
		p.identity, p.authz, err = consul.JoinMesh(ctx, c.Consul.ConsulHTTP, c.Service, c.AuthzTimeout, p.Log)
		if err != nil {
			p.Close(ctx)
			return nil, err
		}
		p.Log.Info("mesh on: connect-native", "spiffe_id", p.identity.URI())
	}
	return p, nil
}

// Peers connects to the services this one calls, over the mesh when it is on.
func (p *Platform) Peers(ctx context.Context, c peer.Settings) (*peer.Peers, error) {
	var id peer.Identity // a nil *consul.Identity must stay a nil interface
	if p.identity != nil {
		id = p.identity
	}
	return c.Connect(ctx, p.Log, id)
}

// Serve listens on the configured address, registers the service in Consul and serves
// h until ctx is done; then it deregisters. With the mesh on, a service that is not at
// the edge serves mutual TLS and checks every caller against the intentions.
func (p *Platform) Serve(ctx context.Context, h http.Handler) error {
	ln, err := net.Listen("tcp", p.settings.Addr)
	if err != nil {
		return err
	}
	native := p.identity != nil && !p.settings.Edge
	if native {
		h = consul.Authorize(p.Log, p.identity, p.authz, h)
		ln = tls.NewListener(ln, p.identity.ServerTLS())
	}
	reg, err := p.settings.Consul.Start(p.Log, p.settings.Service, ln.Addr(), native)
	if err != nil {
		ln.Close()
		return err
	}
	defer reg.Stop() // after serving ends: deregister
	if p.settings.AccessLog {
		h = accessLog(p.Log, h) // inside telemetry's handler: each line carries its trace ID
	}
	h = withHealth(h) // outside the access log: a probe a second would drown the work
	return HTTP(ctx, p.Log, ln, p.settings.Limits, p.tel.Handler(h))
}

// Close flushes and stops telemetry.
func (p *Platform) Close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := p.tel.Shutdown(sctx); err != nil {
		p.Log.Warn("telemetry shutdown", "err", err)
	}
}

// gcPercent is the GOGC a service runs with: the one set, else its mode's default.
func gcPercent(set int, tracing bool) int {
	switch {
	case set > 0:
		return set
	case tracing:
		return TracedGCPercent
	}
	return DefaultGCPercent
}

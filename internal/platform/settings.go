package platform

import (
	"strconv"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/telemetry"
)

// Settings are the ones every service shares: configuration only, read once at start.
type Settings struct {
	Service   string // the service's name: rng, hasher, worker or webui
	Addr      string // where the HTTP server listens
	LogFormat string // text or json
	LogLevel  string
	Consul    consul.Registration // how the service registers itself in Consul
	Mesh      bool                // speak Consul Connect: mTLS and intentions
	// Edge marks a service that people and agents call, never mesh peers (webui, and
	// the worker's status page): with the mesh on it still serves plain HTTP, and uses
	// the mesh only to call its own peers.
	Edge      bool
	AccessLog bool   // log one line per request (on for rng and hasher, as in the original)
	Limits    Limits // what one HTTP client can hold of the server
	// AuthzTimeout bounds each intention check with the local agent (mesh on): a hung
	// agent costs a caller this long and a 503, never a hung request.
	AuthzTimeout time.Duration
	Telemetry    telemetry.Settings // OTEL_* variables: traces and metrics
	// GCPercent is Go's GOGC, read as a setting so its default can be the services' own
	// rather than Go's 100. Zero picks it by mode: DefaultGCPercent, or TracedGCPercent
	// while spans are exported.
	GCPercent int
}

// DefaultGCPercent is the services' GOGC unless it is set. Their live heap is under
// 2 MB, so at Go's 100 the runtime's floor of a 4 MB heap goal is most of their memory;
// at 50 the floor is 2 MB, which takes 2 to 2.5 MB off each service's RSS for a few
// more collections a second of a heap that small (make bench: BenchmarkRawLoop).
const DefaultGCPercent = 50

// TracedGCPercent is the services' GOGC while they export spans. A traced request
// allocates twice what an untraced one does (rng: 5.2 KB against 2.5), so at 50 the
// little heap is collected 60 times a second and collection became the largest part
// of tracing's cost. At 200 a traced stack of 8 workers ran 20–26% faster at zero delay,
// for about 6 MB more RSS a service (make bench: BenchmarkTracing).
const TracedGCPercent = 200

// TracedMemoryLimit is the soft limit on a traced service's Go memory unless
// GOMEMLIMIT is set. With a hung collector the span queue fills, and at
// TracedGCPercent rng's RSS grew to 34 MB, over the jobs' 32 MB; under this limit the
// runtime collects harder instead, and RSS stayed under 24 MB. Normal traced load keeps
// well below it (20 to 22 MB RSS, of which about 12 MB is the binary's own pages).
const TracedMemoryLimit = 16 << 20

// Register defines the shared settings of the named service on s, listening on addr by
// default.
func (c *Settings) Register(s *settings.Set, service, addr string) {
	c.Service = service
	s.String(&c.Addr, "addr", "ADDR", addr, "listen address")
	s.String(&c.LogFormat, "log-format", "LOG_FORMAT", "text", "log format: text or json")
	s.String(&c.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	c.Consul.Register(s)
	c.Limits.Register(s)
	c.Telemetry.Register(s, service)
	s.Bool(&c.Mesh, "mesh", "MESH", false, "serve and call peers over Consul Connect mTLS, authorized by intentions")
	s.Duration(&c.AuthzTimeout, "mesh-authz-timeout", "MESH_AUTHZ_TIMEOUT", time.Second,
		"longest wait for the local Consul agent's intention check; past it the caller gets 503")
	s.Bool(&c.AccessLog, "access-log", "ACCESS_LOG", service == dockercoins.RNG || service == dockercoins.Hasher,
		"log one line per request (method, path, status, duration, caller); off for benchmarks")
	s.Int(&c.GCPercent, "gogc", "GOGC", 0,
		"Go's garbage collection target: how many percent the heap grows over the live heap before a collection; 0: "+
			strconv.Itoa(DefaultGCPercent)+", or "+strconv.Itoa(TracedGCPercent)+" while spans are exported")
}

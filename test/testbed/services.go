package testbed

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/services/worker"
)

// Service is one of the project's services, started from its binary for a test.
type Service struct {
	*Proc
	Addr string // where it listens, 127.0.0.1:port
}

// StartService runs a service binary with JSON logs on a free loopback port, plus env,
// and waits until it listens. It registers in no Consul unless env says so (see
// Consul.Env), so a test never touches an agent it did not start.
func StartService(t testing.TB, service string, env ...string) *Service {
	t.Helper()
	base := []string{"LOG_FORMAT=json", "ADDR=127.0.0.1:0", "CONSUL_REGISTER=false"}
	p := Start(t, service, append(base, env...), Binary(t, service))
	ev := p.WaitEvent(t, "listening", 20*time.Second)
	return &Service{Proc: p, Addr: ev["addr"].(string)}
}

// URL is the service's base URL.
func (s *Service) URL() string { return "http://" + s.Addr }

// WorkerLoops reads the loops a worker at addr has completed, from its status.
func WorkerLoops(c *http.Client, addr string) (int64, error) {
	st, err := worker.Status(context.Background(), c, addr)
	return st.Loops, err
}

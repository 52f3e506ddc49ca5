package testbed

import (
	"fmt"
	"net/http"
	"testing"
	"time"
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

// WorkerLoops reads the loops a worker at addr has completed, from its status line
// ("WORKER running on <host>: N loops, ...").
func WorkerLoops(c *http.Client, addr string) (int64, error) {
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var host string
	var loops int64
	if _, err := fmt.Fscanf(resp.Body, "WORKER running on %s %d loops", &host, &loops); err != nil {
		return 0, fmt.Errorf("worker status at %s: %w", addr, err)
	}
	return loops, nil
}

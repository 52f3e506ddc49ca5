package testbed

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
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

// WorkerStatus reads the status a worker at addr serves as JSON at GET /.
func WorkerStatus(c *http.Client, addr string) (dockercoins.WorkerStatus, error) {
	var st dockercoins.WorkerStatus
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("worker status at %s: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("worker status at %s: %w", addr, err)
	}
	return st, nil
}

// WorkerLoops reads the loops a worker at addr has completed, from its status.
func WorkerLoops(c *http.Client, addr string) (int64, error) {
	st, err := WorkerStatus(c, addr)
	return st.Loops, err
}

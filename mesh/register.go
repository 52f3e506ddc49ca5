package mesh

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins/internal/settings"
)

// Registration settings say whether and how a service registers itself with the
// Consul agent on its host.
type Registration struct {
	Enabled    bool   // register at all
	ConsulHTTP string // the agent's HTTP API, CONSUL_HTTP_ADDR as every Consul tool reads it
	Advertise  string // the address peers reach this instance at; empty: see Advertised
	NomadAlloc string // set by Nomad in every allocation's environment
}

// CheckInterval is how often the agent calls a registered service's GET /.
const CheckInterval = time.Second

// DeregisterAfter is how long an instance may fail its check before the agent drops it,
// for instances that died without deregistering. Consul does not accept less than a minute.
const DeregisterAfter = time.Minute

// Register defines the registration settings on s.
func (c *Registration) Register(s *settings.Set) {
	s.Bool(&c.Enabled, "consul-register", "CONSUL_REGISTER", true, "register this service with the local Consul agent")
	s.String(&c.ConsulHTTP, "consul-http-addr", "CONSUL_HTTP_ADDR", "127.0.0.1:8500", "Consul agent HTTP address (host:port or URL) to register with")
	s.String(&c.Advertise, "advertise-addr", "ADVERTISE_ADDR", "", "IP or IP:port registered in Consul; empty: the listen IP if specific, else 127.0.0.1, and the listen port")
	s.String(&c.NomadAlloc, "nomad-alloc-id", "NOMAD_ALLOC_ID", "", "set by Nomad: the job's service block registers the service, so it does not register itself")
}

// Start registers service, listening on listen, with the local agent and keeps it
// registered until Stop. It never waits for the agent: registration runs in the
// background and retries until the agent answers, so a service serves even while
// Consul is down. An error means the settings are wrong.
func (c *Registration) Start(log *slog.Logger, service string, listen net.Addr) (*Registrar, error) {
	switch {
	case c.NomadAlloc != "":
		log.Info("running under nomad: the job's service block registers this service", "alloc", c.NomadAlloc)
		return nil, nil
	case !c.Enabled:
		log.Info("consul registration is off")
		return nil, nil
	}
	host, port, err := Advertised(c.Advertise, listen)
	if err != nil {
		return nil, err
	}
	client, err := api.NewClient(&api.Config{Address: c.ConsulHTTP})
	if err != nil {
		return nil, fmt.Errorf("consul at %q: %w", c.ConsulHTTP, err)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	reg := &api.AgentServiceRegistration{
		// The ID is the same for every run of an instance at one address, so one that
		// crashed and comes back replaces its stale entry instead of leaving it to linger
		// as critical; no two live instances share an address on one agent's host.
		ID:      service + "-" + strings.NewReplacer(":", "-", "[", "", "]", "").Replace(addr),
		Name:    service,
		Address: host,
		Port:    port,
		Check: &api.AgentServiceCheck{
			Name:                           service + " GET /",
			HTTP:                           "http://" + addr + "/",
			Method:                         "GET",
			Interval:                       CheckInterval.String(),
			Timeout:                        CheckInterval.String(),
			DeregisterCriticalServiceAfter: DeregisterAfter.String(),
		},
	}
	return startRegistrar(log, client.Agent(), c.ConsulHTTP, reg), nil
}

// Advertised returns the address to register for a service listening on listen, from
// the ADVERTISE_ADDR setting: an IP, or IP:port when peers reach the instance through a
// forwarded port.
//
// Without the setting it is the listen IP when the service listens on one, else
// 127.0.0.1. The agent that runs the health check is on this host, and in a one-host
// setup (make up, the tests) every peer is too, so loopback reaches the instance from
// all of them. A wildcard listener says nothing of which of the host's addresses other
// hosts could use, and guessing (say the first non-loopback interface) picks wrong on
// hosts with bridges and tunnels; a multi-host setup sets ADVERTISE_ADDR or runs under
// Nomad, which registers the allocation's own address.
func Advertised(setting string, listen net.Addr) (host string, port int, err error) {
	tcp, ok := listen.(*net.TCPAddr)
	if !ok {
		return "", 0, fmt.Errorf("advertise: listening on %v, not TCP", listen)
	}
	host, port = "127.0.0.1", tcp.Port
	if !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	if setting == "" {
		return host, port, nil
	}
	host = setting
	if h, p, err := net.SplitHostPort(setting); err == nil {
		host = h
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("ADVERTISE_ADDR %q: port must be 1 to 65535", setting)
		}
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		// Consul DNS answers a registered IP as an <hex>.addr. target any client can
		// resolve through the agent; a host name would need a resolver of its own.
		return "", 0, fmt.Errorf("ADVERTISE_ADDR %q: want a specific IP or IP:port", setting)
	}
	return ip.String(), port, nil
}

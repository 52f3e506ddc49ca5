package consul

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/settings"
)

// Registration settings say whether and how a service registers itself with the
// Consul agent on its host.
type Registration struct {
	Enabled    bool   // register at all
	ConsulHTTP string // the agent's HTTP API, CONSUL_HTTP_ADDR as every Consul tool reads it
	Advertise  string // the address peers reach this instance at; empty: see advertise
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
	s.String(&c.Advertise, "advertise-addr", "ADVERTISE_ADDR", "", "IP or IP:port registered in Consul; empty: the listen IP if specific, else the address this host reaches the agent from (127.0.0.1 for a local agent), and the listen port")
	s.String(&c.NomadAlloc, "nomad-alloc-id", "NOMAD_ALLOC_ID", "", "set by Nomad: the job's service block registers the service, so it does not register itself")
}

// Start registers service, listening on listen, with the local agent and keeps it
// registered until Stop. It never waits for the agent: registration runs in the
// background and retries until the agent answers, so a service serves even while
// Consul is down. An error means the settings are wrong. A native service speaks
// Connect itself and is checked over TLS.
func (c *Registration) Start(log *slog.Logger, service string, listen net.Addr, native bool) (*Registrar, error) {
	switch {
	case c.NomadAlloc != "":
		log.Info("running under nomad: the job's service block registers this service", "alloc", c.NomadAlloc)
		return nil, nil
	case !c.Enabled:
		log.Info("consul registration is off")
		return nil, nil
	}
	adv, err := newAdvertise(c.Advertise, listen)
	if err != nil {
		return nil, err
	}
	client, err := api.NewClient(&api.Config{Address: c.ConsulHTTP})
	if err != nil {
		return nil, fmt.Errorf("consul at %q: %w", c.ConsulHTTP, err)
	}
	registration := func(ctx context.Context) (*api.AgentServiceRegistration, error) {
		host, port, err := adv.resolve(ctx, c.ConsulHTTP)
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		check := &api.AgentServiceCheck{
			Name:                           service + " GET " + dockercoins.HealthPath,
			HTTP:                           "http://" + addr + dockercoins.HealthPath,
			Method:                         "GET",
			Interval:                       CheckInterval.String(),
			Timeout:                        CheckInterval.String(),
			DeregisterCriticalServiceAfter: DeregisterAfter.String(),
		}
		var connect *api.AgentServiceConnect
		if native {
			// The agent has no mesh certificate; the health path is public over TLS.
			check.HTTP, check.TLSSkipVerify = "https://"+addr+dockercoins.HealthPath, true
			connect = &api.AgentServiceConnect{Native: true}
		}
		return &api.AgentServiceRegistration{
			// The ID is the same for every run of an instance at one address, so one
			// that crashed and comes back replaces its stale entry instead of leaving
			// it to linger as critical; no two live instances share an address.
			ID:      service + "-" + strings.NewReplacer(":", "-", "[", "", "]", "").Replace(addr),
			Name:    service,
			Address: host,
			Port:    port,
			Check:   check,
			Connect: connect,
		}, nil
	}
	return startRegistrar(log, client.Agent(), c.ConsulHTTP, registration), nil
}

// advertise is the address to register: a fixed IP, or none yet (host "") when the
// service listens on every address and nothing says which one peers should use.
type advertise struct {
	host string
	port int
}

// newAdvertise reads the ADVERTISE_ADDR setting: an IP, or IP:port when peers reach
// the instance through a forwarded port. Without it, the listen IP if specific.
func newAdvertise(setting string, listen net.Addr) (advertise, error) {
	tcp, ok := listen.(*net.TCPAddr)
	if !ok {
		return advertise{}, fmt.Errorf("advertise: listening on %v, not TCP", listen)
	}
	a := advertise{port: tcp.Port}
	if !tcp.IP.IsUnspecified() {
		a.host = tcp.IP.String()
	}
	if setting == "" {
		return a, nil
	}
	host := setting
	if h, p, err := net.SplitHostPort(setting); err == nil {
		host = h
		if a.port, err = strconv.Atoi(p); err != nil || a.port < 1 || a.port > 65535 {
			return advertise{}, fmt.Errorf("ADVERTISE_ADDR %q: port must be 1 to 65535", setting)
		}
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		// Consul DNS answers a registered IP as an <hex>.addr. target any client can
		// resolve through the agent; a host name would need a resolver of its own.
		return advertise{}, fmt.Errorf("ADVERTISE_ADDR %q: want a specific IP or IP:port", setting)
	}
	a.host = ip.String()
	return a, nil
}

// resolve returns the address to register. For a service listening on every address
// it is the one this host reaches the agent from (the source address the kernel picks
// for the agent's address; no packet is sent).
//
// For the usual agent on 127.0.0.1 that is 127.0.0.1: the agent runs the health check
// from this host, and in a one-host setup (make up, the tests) every peer is on this
// host too, so loopback reaches the instance from all of them. When the agent is
// elsewhere, as in a container network where it has an address of its own, it is the
// instance's address on the network it shares with the agent, which the agent's check
// and the peers on that network can reach; 127.0.0.1 there would point everyone at
// themselves. Guessing from the interfaces instead (say the first non-loopback one)
// picks wrong on hosts with bridges and tunnels. Multi-host setups with a local agent
// on each host set ADVERTISE_ADDR, or run under Nomad, which registers the
// allocation's own address.
func (a advertise) resolve(ctx context.Context, consul string) (string, int, error) {
	if a.host != "" {
		return a.host, a.port, nil
	}
	agent := consul
	if _, rest, ok := strings.Cut(consul, "://"); ok {
		if strings.HasPrefix(consul, "unix://") {
			return "127.0.0.1", a.port, nil // an agent on this host's own socket
		}
		agent, _, _ = strings.Cut(rest, "/")
	}
	if _, _, err := net.SplitHostPort(agent); err != nil {
		agent = net.JoinHostPort(agent, "8500")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", agent)
	if err != nil {
		return "", 0, fmt.Errorf("find this instance's address toward the agent: %w", err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String(), a.port, nil
}

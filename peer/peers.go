package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins/internal/settings"
)

// Settings say how a service finds its peers: through Consul DNS by default, or at
// fixed addresses given per peer (the static fallback for running without Consul).
type Settings struct {
	ConsulDNS string        // the agent's DNS address
	TTL       time.Duration // how long a DNS answer is used before it is refreshed
	StaleMax  time.Duration // how long the last answer is kept while lookups fail
	static    map[string]*string
}

// Register defines the discovery settings for the named peers: -consul-dns, and per
// peer -<peer>-addr (e.g. RNG_ADDR) for a static address list.
func (c *Settings) Register(s *settings.Set, peers ...string) {
	s.String(&c.ConsulDNS, "consul-dns", "CONSUL_DNS_ADDR", "127.0.0.1:8600", "Consul DNS address used to find peers")
	s.Duration(&c.TTL, "discovery-ttl", "DISCOVERY_TTL", 2*time.Second, "how long a Consul DNS answer is reused")
	s.Duration(&c.StaleMax, "discovery-stale-max", "DISCOVERY_STALE_MAX", 30*time.Second,
		"how long the last Consul DNS answer is still used while lookups fail, from its last success")
	c.static = map[string]*string{}
	for _, p := range peers {
		v := new(string)
		c.static[p] = v
		env := strings.ToUpper(p) + "_ADDR"
		s.String(v, p+"-addr", env, "", "fixed "+p+" address(es), host:port or URL, comma-separated; empty: find "+p+" through Consul DNS")
	}
}

// Identity is a service's place in the mesh as a caller sees it: the TLS configuration
// that presents its certificate and accepts only the target service. consul.Identity
// is one; nil means plain HTTP and TCP.
type Identity interface {
	ClientTLS(target string) *tls.Config
}

// Peers reaches the services a service depends on.
type Peers struct {
	resolvers map[string]Resolver
	http      map[string]*http.Client
	id        Identity // nil: plain HTTP and TCP
}

// Connect builds the resolvers the settings call for. With an identity, peers are
// reached over Connect's mutual TLS and found among Connect-capable instances.
func (c *Settings) Connect(ctx context.Context, log *slog.Logger, id Identity) (*Peers, error) {
	p := &Peers{resolvers: map[string]Resolver{}, http: map[string]*http.Client{}, id: id}
	if c.StaleMax <= 0 {
		return nil, fmt.Errorf("DISCOVERY_STALE_MAX must be above zero, got %s", c.StaleMax)
	}
	dns := &DNS{Server: c.ConsulDNS, TTL: c.TTL, StaleMax: c.StaleMax, Connect: id != nil, Log: log}
	for name, v := range c.static {
		addrs, err := ParseAddrs(*v)
		if err != nil {
			return nil, fmt.Errorf("%s address: %w", name, err)
		}
		t := NewTransport()
		if id != nil {
			t.TLSClientConfig = id.ClientTLS(name)
		}
		p.http[name] = &http.Client{Transport: measuredTransport(t)}
		if len(addrs) > 0 {
			p.resolvers[name] = Static{name: addrs}
			log.Info("peer at fixed address", "peer", name, "addrs", addrs)
			continue
		}
		p.resolvers[name] = dns
		log.Info("peer through consul dns", "peer", name, "dns", c.ConsulDNS)
	}
	return p, nil
}

// NewTransport returns an HTTP transport sized for many requests to few peers. A call
// is bounded by the time to its answer's headers, not by http.Client.Timeout, which
// costs a context, a timer and a goroutine per request; the answers are a few bytes.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.ResponseHeaderTimeout = 60 * time.Second
	// Below the servers' HTTP_IDLE_TIMEOUT (60s by default): the client drops an idle
	// connection before the server does, so a request never races the server's close.
	t.IdleConnTimeout = 30 * time.Second
	return t
}

// Client returns an HTTP client for peer.
func (p *Peers) Client(peer string) *Client {
	c := &Client{Service: peer, Resolver: p.resolvers[peer], HTTP: p.http[peer]}
	if p.id != nil {
		c.Scheme = "https"
	}
	return c
}

// Dialer returns a dial function that connects to a healthy instance of peer, for
// clients such as go-redis that make their own connections.
func (p *Peers) Dialer(peer string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	r := p.resolvers[peer]
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		addrs, err := r.Resolve(ctx, peer)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", peer, err)
		}
		var d net.Dialer
		var errs []error
		for _, a := range addrs {
			conn, err := d.DialContext(ctx, network, a)
			if err == nil && p.id != nil {
				conn, err = handshake(ctx, conn, p.id.ClientTLS(peer))
			}
			if err == nil {
				return conn, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}

// Close releases idle connections.
func (p *Peers) Close() {
	for _, c := range p.http {
		c.CloseIdleConnections()
	}
}

func handshake(ctx context.Context, conn net.Conn, cfg *tls.Config) (net.Conn, error) {
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

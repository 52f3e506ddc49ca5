package mesh

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DNS finds services through Consul DNS: an SRV lookup of <service>.service.<domain>
// against the agent, which answers only instances whose checks pass.
//
// Answers are cached for TTL and refreshed in the background while they are in use, so
// a request never waits for a lookup after the first. Consul's own answers carry a TTL of
// 0 unless the agent's dns_config sets one; TTL is the short floor that keeps lookups off
// the hot path. When a refresh fails the last good answer is kept.
type DNS struct {
	Server string        // the agent's DNS address, e.g. 127.0.0.1:8600
	Domain string        // defaults to "consul"
	TTL    time.Duration // defaults to 2s

	once     sync.Once
	resolver *net.Resolver
	mu       sync.Mutex
	cache    map[string]*answer
}

type answer struct {
	addrs   []string
	err     error
	expires time.Time
	ready   chan struct{} // closed once the first lookup is done
	busy    bool          // a refresh is running
}

func (d *DNS) init() {
	d.once.Do(func() {
		var dialer net.Dialer
		d.resolver = &net.Resolver{
			PreferGo: true,
			// Every query, udp or tcp, goes to the Consul agent, whatever the system's
			// resolv.conf says.
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, d.Server)
			},
		}
		d.cache = map[string]*answer{}
	})
}

func (d *DNS) ttl() time.Duration {
	if d.TTL > 0 {
		return d.TTL
	}
	return 2 * time.Second
}

// Resolve returns the "ip:port" of every healthy instance of service, sorted.
func (d *DNS) Resolve(ctx context.Context, service string) ([]string, error) {
	d.init()
	d.mu.Lock()
	a, ok := d.cache[service]
	if !ok {
		a = &answer{ready: make(chan struct{}), busy: true}
		d.cache[service] = a
		go d.refresh(service, a)
	} else if !a.busy && time.Now().After(a.expires) {
		a.busy = true
		go d.refresh(service, a)
	}
	d.mu.Unlock()
	select {
	case <-a.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return a.addrs, a.err
}

func (d *DNS) refresh(service string, a *answer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := d.lookup(ctx, service)
	d.mu.Lock()
	defer d.mu.Unlock()
	a.busy = false
	a.expires = time.Now().Add(d.ttl())
	switch {
	case err == nil:
		a.addrs, a.err = addrs, nil
	case a.addrs == nil:
		a.err = err
		a.expires = time.Now() // failures are retried at the next request
	}
	select {
	case <-a.ready:
	default:
		close(a.ready)
	}
}

func (d *DNS) lookup(ctx context.Context, service string) ([]string, error) {
	domain := d.Domain
	if domain == "" {
		domain = "consul"
	}
	name := service + ".service." + strings.TrimSuffix(domain, ".") + "."
	_, srvs, err := d.resolver.LookupSRV(ctx, "", "", name)
	if err != nil {
		return nil, fmt.Errorf("consul dns %s: look up %s: %w", d.Server, name, err)
	}
	var addrs []string
	for _, srv := range srvs {
		ips, err := d.resolver.LookupIP(ctx, "ip", srv.Target)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("consul dns %s: look up %s: %w", d.Server, srv.Target, err)
		}
		addrs = append(addrs, net.JoinHostPort(ips[0].String(), strconv.Itoa(int(srv.Port))))
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("consul dns %s: no healthy instance of %s", d.Server, service)
	}
	slices.Sort(addrs)
	return slices.Compact(addrs), nil
}

package peer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DNS finds services through Consul DNS: an SRV lookup of <service>.service.<domain>
// against the agent, which answers only instances whose checks pass (or warn).
//
// Answers are cached and refreshed in the background while they are in use, so a
// request never waits for a lookup after the first. An answer is kept for its TTL, but
// at least for TTL: Consul answers with a TTL of 0 unless the agent's dns_config sets
// one, and honouring 0 would put a lookup on every request. When a refresh fails (the
// agent is restarting, or no instance is healthy for a moment) the last good answer is
// kept, for at most StaleMax from the first lookup that failed to confirm it (a lookup
// that hangs counts from its start): the client's retry on another instance covers any
// that went away meanwhile, but an answer nobody can confirm for longer may name
// instances long gone, or addresses since given to something else.
type DNS struct {
	Server string // the agent's DNS address, e.g. 127.0.0.1:8600
	Domain string // defaults to "consul"
	// Connect looks up <service>.connect.<domain> instead: the instances that speak
	// Connect, natively or through a proxy such as Redis's.
	Connect bool
	TTL     time.Duration // the shortest time an answer is kept; defaults to 2s
	// StaleMax bounds how long an answer is served while lookups fail to confirm it;
	// defaults to 30s.
	StaleMax time.Duration
	Log      *slog.Logger // where serving and dropping a stale answer is said; nil: nowhere

	once     sync.Once
	resolver *net.Resolver
	mu       sync.Mutex
	cache    map[string]*answer
}

type answer struct {
	addrs   []string
	err     error
	expires time.Time
	// unconfirmed is when the first lookup began that has not confirmed addrs yet;
	// zero while the last lookup gave them.
	unconfirmed time.Time
	degraded    bool          // a stale answer was served or dropped, and said so in the log
	ready       chan struct{} // closed once the first lookup is done
	busy        bool          // a refresh is running
}

func (d *DNS) init() {
	d.once.Do(func() {
		var dialer net.Dialer
		d.resolver = &net.Resolver{
			PreferGo: true,
			// Every query goes to the Consul agent, whatever the system's resolv.conf
			// says, and over TCP even when Go asks for udp: unless the agent sets
			// dns_config.enable_truncate, Consul trims a udp answer to fit without
			// setting the truncated bit, so a big service would silently lose
			// instances. A TCP conn is no net.PacketConn, which tells Go's resolver to
			// frame its messages for a stream. Lookups run in the background, so the
			// handshake with the local agent costs the hot path nothing.
			Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				conn, err := dialer.DialContext(ctx, "tcp", d.Server)
				if err != nil {
					return nil, err
				}
				return recordTTL(ctx, conn), nil
			},
		}
		d.cache = map[string]*answer{}
	})
}

func (d *DNS) floor() time.Duration {
	if d.TTL > 0 {
		return d.TTL
	}
	return 2 * time.Second
}

// Resolve returns the "ip:port" of every healthy instance of service, sorted. The
// slice is shared: callers must not modify it.
func (d *DNS) Resolve(ctx context.Context, service string) ([]string, error) {
	d.init()
	now := time.Now()
	d.mu.Lock()
	a, ok := d.cache[service]
	if !ok {
		a = &answer{ready: make(chan struct{}), busy: true}
		d.cache[service] = a
		go d.refresh(service, a)
	} else if !a.busy && now.After(a.expires) {
		a.busy = true
		if a.unconfirmed.IsZero() {
			a.unconfirmed = now
		}
		go d.refresh(service, a)
	}
	select {
	case <-a.ready: // the usual case: answer from the cache
		if a.addrs != nil && !a.unconfirmed.IsZero() && now.Sub(a.unconfirmed) > d.staleMax() {
			d.drop(service, a, now, errors.New("lookups failing or not answering"))
		}
		addrs, err := a.addrs, a.err
		d.mu.Unlock()
		return addrs, err
	default:
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

func (d *DNS) staleMax() time.Duration {
	if d.StaleMax > 0 {
		return d.StaleMax
	}
	return 30 * time.Second
}

func (d *DNS) refresh(service string, a *answer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, ttl, err := d.lookup(ctx, service)
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	a.busy = false
	a.expires = now.Add(max(ttl, d.floor()))
	switch {
	case err == nil:
		if a.degraded {
			d.logf(slog.LevelInfo, "consul dns answers again", service, "instances", len(addrs))
		}
		a.addrs, a.err, a.unconfirmed, a.degraded = addrs, nil, time.Time{}, false
	case a.addrs == nil:
		a.err = err
		a.expires = now // failures are retried at the next request
	case now.Sub(a.unconfirmed) >= d.staleMax():
		d.drop(service, a, now, err)
	case !a.degraded:
		d.logf(slog.LevelWarn, "consul dns lookup failed; serving the last answer", service,
			"instances", len(a.addrs), "unconfirmed_for", now.Sub(a.unconfirmed).Round(time.Millisecond), "stale_max", d.staleMax(), "err", err)
		a.degraded = true
	}
	select {
	case <-a.ready:
	default:
		close(a.ready)
	}
}

// drop forgets a's addresses, unconfirmed for longer than StaleMax: requests fail
// with the reason until a lookup answers. The caller holds d.mu.
func (d *DNS) drop(service string, a *answer, now time.Time, err error) {
	d.logf(slog.LevelWarn, "consul dns lookups still failing; dropping the stale answer", service,
		"instances", len(a.addrs), "unconfirmed_for", now.Sub(a.unconfirmed).Round(time.Millisecond), "stale_max", d.staleMax(), "err", err)
	a.addrs, a.err = nil, fmt.Errorf("no answer confirmed for %s, the last one dropped: %w", d.staleMax(), err)
	a.unconfirmed, a.degraded = time.Time{}, true
	a.expires = now
}

func (d *DNS) logf(level slog.Level, msg, service string, args ...any) {
	if d.Log != nil {
		d.Log.Log(context.Background(), level, msg, append([]any{"peer", service}, args...)...)
	}
}

// lookup asks the agent for service's instances and returns their addresses with the
// smallest TTL of the records that gave them.
func (d *DNS) lookup(ctx context.Context, service string) ([]string, time.Duration, error) {
	domain := d.Domain
	if domain == "" {
		domain = "consul"
	}
	kind := ".service."
	if d.Connect {
		kind = ".connect."
	}
	name := service + kind + strings.TrimSuffix(domain, ".") + "."
	ctx, rec := withTTLRecorder(ctx)
	_, srvs, err := d.resolver.LookupSRV(ctx, "", "", name)
	if err != nil {
		return nil, 0, fmt.Errorf("consul dns %s: %w", d.Server, lookupError(service, name, err))
	}
	// Targets are <hex ip>.addr.<dc>.<domain>. names, which hold the address itself,
	// or node names, which the agent resolves; instances on one host share theirs, so
	// each is looked up once. Reading the address out of the name saves an A and an
	// AAAA query, each a TCP connection, per node: for every worker, every refresh.
	ips := map[string]net.IP{}
	var errs []error
	var addrs []string
	for _, srv := range srvs {
		ip, seen := ips[srv.Target]
		if !seen {
			var ok bool
			if ip, ok = addrTarget(srv.Target, domain); !ok {
				found, err := d.resolver.LookupIP(ctx, "ip", srv.Target)
				if err == nil && len(found) == 0 {
					err = errors.New("no address")
				}
				if err != nil {
					errs = append(errs, lookupError(service, srv.Target, err))
				} else {
					ip = found[0]
				}
			}
			ips[srv.Target] = ip
		}
		if ip != nil {
			addrs = append(addrs, net.JoinHostPort(ip.String(), strconv.Itoa(int(srv.Port))))
		}
	}
	if len(addrs) == 0 {
		errs = append(errs, fmt.Errorf("no healthy instance of %s", service))
		return nil, 0, fmt.Errorf("consul dns %s: %w", d.Server, errors.Join(errs...))
	}
	slices.Sort(addrs)
	ttl, _ := rec.TTL()
	return slices.Compact(addrs), ttl, nil
}

// addrTarget reads the address Consul puts in an SRV target of the form
// <hex>.addr.<datacenter>.<domain>.: the IPv4 address in 8 hex digits, or the IPv6
// address in 32. Any other name is not one.
func addrTarget(target, domain string) (net.IP, bool) {
	labels := strings.Split(strings.TrimSuffix(target, "."), ".")
	if len(labels) < 4 || !strings.EqualFold(labels[1], "addr") ||
		!strings.EqualFold(strings.Join(labels[3:], "."), strings.Trim(domain, ".")) {
		return nil, false
	}
	b, err := hex.DecodeString(labels[0])
	if err != nil || (len(b) != net.IPv4len && len(b) != net.IPv6len) {
		return nil, false
	}
	return net.IP(b), true
}

// lookupError says what a failed lookup means. Go's resolver names the server of the
// system's resolv.conf in its errors, not the agent it was made to ask, so only the
// gist is kept.
func lookupError(service, name string, err error) error {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return fmt.Errorf("no healthy instance of %s (%s not found)", service, name)
	case errors.As(err, &de):
		return fmt.Errorf("look up %s: %s", name, de.Err)
	}
	return fmt.Errorf("look up %s: %w", name, err)
}

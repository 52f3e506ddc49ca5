// Package peer is how a DockerCoins service reaches the services it depends on: it
// finds a peer's healthy instances by name through Consul DNS (or at fixed addresses),
// spreads requests over them, retries on another instance, and speaks the mesh's
// mutual TLS when given a Connect identity. Registration and identities are package
// consul's.
package peer

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Resolver finds the addresses ("host:port") of a service's healthy instances.
type Resolver interface {
	Resolve(ctx context.Context, service string) ([]string, error)
}

// Static resolves services from a fixed table, for running without Consul.
type Static map[string][]string

// Resolve returns the table's addresses for service.
func (s Static) Resolve(_ context.Context, service string) ([]string, error) {
	addrs := s[service]
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no static address for %q", service)
	}
	return addrs, nil
}

// ParseAddrs reads a comma-separated list of "host:port" or "http://host:port"
// addresses, as given in a setting.
func ParseAddrs(list string) ([]string, error) {
	var addrs []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if strings.Contains(a, "://") {
			u, err := url.Parse(a)
			if err != nil {
				return nil, fmt.Errorf("address %q: %w", a, err)
			}
			a = u.Host
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("address %q: want host:port: %w", a, err)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

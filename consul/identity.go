// Package consul is DockerCoins' one door to Consul's HTTP API (github.com/hashicorp/consul/api):
// a service registering itself with its local agent, its Connect identity (leaf
// certificate and CA roots) with the TLS and authorization built on it, and the
// mesh's intentions. Finding peers through Consul DNS is package peer's.
package consul

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// Identity is a service's place in the Connect mesh: its leaf certificate and the mesh's
// CA roots, kept current by blocking queries to the local Consul agent, so a rotated
// certificate or a new root is used for the next handshake without dropping traffic.
type Identity struct {
	Service string
	agent   *api.Agent
	log     *slog.Logger

	mu    sync.RWMutex
	cert  *tls.Certificate
	uri   string // the leaf's SPIFFE ID
	roots *x509.CertPool
	ready chan struct{}
	once  sync.Once
}

// NewIdentity fetches service's leaf certificate and the CA roots from the agent and
// keeps them current until ctx ends. It waits for the first of each until wait ends.
func NewIdentity(ctx, wait context.Context, client *api.Client, service string, log *slog.Logger) (*Identity, error) {
	id := &Identity{Service: service, agent: client.Agent(), log: log, ready: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go id.watch(ctx, "leaf certificate", id.fetchLeaf, &wg)
	go id.watch(ctx, "CA roots", id.fetchRoots, &wg)
	go func() { wg.Wait(); id.once.Do(func() { close(id.ready) }) }()
	select {
	case <-id.ready:
		return id, nil
	case <-wait.Done():
		return nil, fmt.Errorf("connect identity for %s: no certificate from the agent: %w", service, wait.Err())
	}
}

// URI is the service's SPIFFE ID.
func (id *Identity) URI() string {
	id.mu.RLock()
	defer id.mu.RUnlock()
	return id.uri
}

// watch runs fetch as a blocking query, again and again; wg is released after the first
// success.
func (id *Identity) watch(ctx context.Context, what string, fetch func(context.Context, uint64) (uint64, error), wg *sync.WaitGroup) {
	var index uint64
	first := true
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		next, err := fetch(ctx, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			id.log.Warn("connect: fetching "+what+" failed; retrying", "service", id.Service, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if next < index {
			next = 0 // the index went backwards (agent restart): start over
		}
		index = next
		if first {
			first = false
			wg.Done()
		}
	}
}

func (id *Identity) fetchLeaf(ctx context.Context, index uint64) (uint64, error) {
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: time.Minute}).WithContext(ctx)
	leaf, meta, err := id.agent.ConnectCALeaf(id.Service, q)
	if err != nil {
		return 0, err
	}
	cert, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.PrivateKeyPEM))
	if err != nil {
		return 0, fmt.Errorf("leaf certificate: %w", err)
	}
	id.mu.Lock()
	changed := id.uri != "" && id.cert != nil && leaf.SerialNumber != serialOf(id.cert)
	id.cert, id.uri = &cert, leaf.ServiceURI
	id.mu.Unlock()
	if changed {
		id.log.Info("connect: leaf certificate rotated", "service", id.Service, "serial", leaf.SerialNumber)
	}
	return meta.LastIndex, nil
}

func (id *Identity) fetchRoots(ctx context.Context, index uint64) (uint64, error) {
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: time.Minute}).WithContext(ctx)
	list, meta, err := id.agent.ConnectCARoots(q)
	if err != nil {
		return 0, err
	}
	// Every root is trusted, not only the active one: during a rotation leaves of both
	// generations are in use, and a new leaf carries the cross-signed intermediate.
	pool := x509.NewCertPool()
	for _, r := range list.Roots {
		if !pool.AppendCertsFromPEM([]byte(r.RootCertPEM)) {
			return 0, fmt.Errorf("CA root %s: not a PEM certificate", r.ID)
		}
	}
	id.mu.Lock()
	id.roots = pool
	id.mu.Unlock()
	return meta.LastIndex, nil
}

func serialOf(c *tls.Certificate) string {
	if c.Leaf == nil {
		return ""
	}
	return formatSerial(c.Leaf.SerialNumber.Bytes())
}

// formatSerial writes a serial as Consul does: hex bytes separated by colons.
func formatSerial(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// certificate is the current leaf, for a handshake.
func (id *Identity) certificate() (*tls.Certificate, error) {
	id.mu.RLock()
	defer id.mu.RUnlock()
	if id.cert == nil {
		return nil, errors.New("connect: no leaf certificate yet")
	}
	return id.cert, nil
}

// verify checks a peer's chain against the current roots for the given use, and
// returns the peer's SPIFFE ID.
func (id *Identity) verify(raw [][]byte, usage x509.ExtKeyUsage) (*x509.Certificate, string, error) {
	if len(raw) == 0 {
		return nil, "", errors.New("connect: peer sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, "", fmt.Errorf("connect: peer certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	id.mu.RLock()
	roots := id.roots
	id.mu.RUnlock()
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return nil, "", fmt.Errorf("connect: peer certificate not from the mesh CA: %w", err)
	}
	for _, u := range certs[0].URIs {
		if u.Scheme == "spiffe" {
			return certs[0], u.String(), nil
		}
	}
	return nil, "", errors.New("connect: peer certificate has no SPIFFE ID")
}

// ServiceOf returns the service name of a Connect SPIFFE ID
// (spiffe://<trust domain>/ns/<ns>/dc/<dc>/svc/<service>).
func ServiceOf(spiffeID string) string {
	_, svc, ok := strings.Cut(spiffeID, "/svc/")
	if !ok || strings.Contains(svc, "/") {
		return ""
	}
	return svc
}

// JoinMesh fetches service's Connect identity from the agent at addr (host:port or
// URL), waiting up to a minute for its first certificate, and returns it with the
// authorizer that asks the same agent about intentions, each question bounded by
// authzTimeout. The identity follows rotations until ctx ends.
func JoinMesh(ctx context.Context, addr, service string, authzTimeout time.Duration, log *slog.Logger) (*Identity, *Authorizer, error) {
	cfg := api.Config{Address: addr}
	authz, err := NewAuthorizer(cfg, authzTimeout) // a copy: the identity's blocking queries must not time out
	if err != nil {
		return nil, nil, fmt.Errorf("mesh: %w", err)
	}
	client, err := api.NewClient(&cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("mesh: consul at %q: %w", addr, err)
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	id, err := NewIdentity(ctx, wait, client, service, log)
	if err != nil {
		return nil, nil, err
	}
	return id, authz, nil
}

package consul

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/hashicorp/consul/api"
)

// ServerTLS is the TLS configuration of a Connect-native server: it presents the
// service's current leaf and checks any client certificate against the mesh CA.
// A client without one gets only the public routes (health checks, which Consul and
// Nomad make without a certificate); Authorize decides the rest per request.
func (id *Identity) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return id.certificate() },
		ClientAuth:     tls.RequestClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return nil
			}
			_, _, err := id.verify(raw, x509.ExtKeyUsageClientAuth)
			return err
		},
		NextProtos: []string{"http/1.1"},
	}
}

// ClientTLS is the TLS configuration for calling target over Connect: it presents the
// service's leaf and accepts only a server whose certificate is from the mesh CA and
// names target as its service. Host names are not checked: the SPIFFE ID is the identity.
func (id *Identity) ClientTLS(target string) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return id.certificate() },
		InsecureSkipVerify:   true, // replaced by VerifyPeerCertificate, against the mesh roots
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, uri, err := id.verify(raw, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			if got := ServiceOf(uri); got != target {
				return fmt.Errorf("connect: dialed %s but the server is %s (%s)", target, got, uri)
			}
			return nil
		},
	}
}

// Authorizer asks the local agent whether a caller may reach a service, by Consul
// intentions, and remembers each answer for TTL so a flipped intention takes effect
// within seconds without an agent call on every request.
type Authorizer struct {
	Agent *api.Agent
	TTL   time.Duration // defaults to 1s

	mu    sync.Mutex
	cache map[authzKey]authzAnswer
}

type authzKey struct{ target, uri, serial string }

type authzAnswer struct {
	ok      bool
	reason  string
	expires time.Time
}

// Authorize reports whether the caller with the given SPIFFE ID and certificate serial
// may call target, and why.
func (a *Authorizer) Authorize(target, uri, serial string) (bool, string, error) {
	key := authzKey{target, uri, serial}
	a.mu.Lock()
	if ans, ok := a.cache[key]; ok && time.Now().Before(ans.expires) {
		a.mu.Unlock()
		return ans.ok, ans.reason, nil
	}
	a.mu.Unlock()
	res, err := a.Agent.ConnectAuthorize(&api.AgentAuthorizeParams{Target: target, ClientCertURI: uri, ClientCertSerial: serial})
	if err != nil {
		return false, "", fmt.Errorf("connect authorize: %w", err)
	}
	ttl := a.TTL
	if ttl <= 0 {
		ttl = time.Second
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil || len(a.cache) > 10000 {
		a.cache = map[authzKey]authzAnswer{}
	}
	a.cache[key] = authzAnswer{res.Authorized, res.Reason, time.Now().Add(ttl)}
	return res.Authorized, res.Reason, nil
}

// Public reports whether a request may skip authorization: the health check, the
// greeting (GET /) and metrics, which carry no data and are read by agents and people
// without a mesh identity.
func Public(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == dockercoins.HealthPath || r.URL.Path == "/" || r.URL.Path == "/metrics"
}

// Authorize wraps h so that, apart from Public requests, only callers the intentions
// allow reach it. A refusal is answered 403 and logged with both identities.
func Authorize(log *slog.Logger, id *Identity, authz *Authorizer, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Public(r) {
			h.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "connect: a client certificate from the mesh is required", http.StatusForbidden)
			return
		}
		peer := r.TLS.PeerCertificates[0]
		var uri string
		for _, u := range peer.URIs {
			if u.Scheme == "spiffe" {
				uri = u.String()
			}
		}
		ok, reason, err := authz.Authorize(id.Service, uri, formatSerial(peer.SerialNumber.Bytes()))
		if err != nil {
			log.Error("connect: cannot authorize", "caller", uri, "target", id.Service, "err", err)
			http.Error(w, "connect: authorization unavailable", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			log.Warn("connect: refused", "caller", uri, "caller_service", ServiceOf(uri), "target", id.Service, "reason", reason)
			http.Error(w, fmt.Sprintf("connect: %s may not call %s: %s", ServiceOf(uri), id.Service, reason), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

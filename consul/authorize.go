package consul

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/hashicorp/consul/api"
	"golang.org/x/sync/singleflight"
)

// Authorizer asks the local agent whether a caller may reach a service, by Consul
// intentions, and remembers each answer for TTL so a flipped intention takes effect
// within seconds without an agent call on every request. Concurrent requests of one
// caller identity share one agent call, and each call is bounded by its client's
// timeout (NewAuthorizer sets one): a hung agent costs the callers that timeout and a
// 503, and holds at most one call per identity.
type Authorizer struct {
	Agent *api.Agent
	TTL   time.Duration // defaults to 1s

	mu     sync.Mutex
	cache  map[authzKey]authzAnswer
	flight singleflight.Group
}

// NewAuthorizer returns an Authorizer that asks the agent cfg points at, each call
// bounded by timeout. cfg is copied: its own HTTP client, if any, is replaced.
func NewAuthorizer(cfg api.Config, timeout time.Duration) (*Authorizer, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("authorization timeout must be above zero, got %s", timeout)
	}
	hc, err := api.NewHttpClient(api.DefaultConfig().Transport, cfg.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("consul at %q: %w", cfg.Address, err)
	}
	hc.Timeout = timeout
	cfg.HttpClient = hc
	client, err := api.NewClient(&cfg)
	if err != nil {
		return nil, fmt.Errorf("consul at %q: %w", cfg.Address, err)
	}
	return &Authorizer{Agent: client.Agent()}, nil
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
	v, err, _ := a.flight.Do(target+"\x00"+uri+"\x00"+serial, func() (any, error) {
		return a.ask(key)
	})
	if err != nil {
		return false, "", err
	}
	ans := v.(authzAnswer)
	return ans.ok, ans.reason, nil
}

// ask makes the agent call and caches its answer.
func (a *Authorizer) ask(key authzKey) (authzAnswer, error) {
	res, err := a.Agent.ConnectAuthorize(&api.AgentAuthorizeParams{Target: key.target, ClientCertURI: key.uri, ClientCertSerial: key.serial})
	if err != nil {
		return authzAnswer{}, fmt.Errorf("connect authorize: %w", err)
	}
	ttl := a.TTL
	if ttl <= 0 {
		ttl = time.Second
	}
	ans := authzAnswer{res.Authorized, res.Reason, time.Now().Add(ttl)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil || len(a.cache) > 10000 {
		a.cache = map[authzKey]authzAnswer{}
	}
	a.cache[key] = ans
	return ans, nil
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

// errNoAnswer is what a caller is told when the agent could not be asked: the reason,
// with the agent's address, goes to the log only.
var errNoAnswer = errors.New("connect: authorization unavailable, retry later")

// Authorize wraps h so that, apart from Public requests, only callers the intentions
// allow reach it. A refusal is answered 403 and logged with both identities; an agent
// that does not answer in time makes it 503.
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
			w.Header().Set("Retry-After", "1")
			http.Error(w, errNoAnswer.Error(), http.StatusServiceUnavailable)
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

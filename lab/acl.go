package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/hashicorp/consul/api"
)

// ConsulTokenFile is where a stack's state folder keeps the Consul management token
// the bootstrap returned (mode 0600): the operator token of the workshop's exercises.
const ConsulTokenFile = "consul-management.token"

// The Consul ACL policies of every stack. Consul denies whatever no policy allows.
var consulPolicies = map[string]string{
	// Anonymous requests, DNS among them: the services and nodes DNS tells anyway, so
	// `dig` and the services' discovery work without a token. Nothing else: no leaf
	// certificates, no intentions, no KV, no agent endpoints.
	"dns": `node_prefix "" { policy = "read" }
service_prefix "" { policy = "read" }
query_prefix "" { policy = "read" }`,
	// Every Consul agent: register its own node and sync the services of its node.
	"agent": `node_prefix "" { policy = "write" }
service_prefix "" { policy = "read" }`,
	// Nomad's agents register the jobs' services and their checks, and fingerprint
	// their local agent.
	"nomad": `agent_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "write" }`,
}

// serviceReads are what each service's token may read besides writing its own name:
// the peers it discovers.
var serviceReads = map[string][]string{
	dockercoins.RNG:    nil,
	dockercoins.Hasher: nil,
	dockercoins.Worker: {dockercoins.RNG, dockercoins.Hasher, dockercoins.Redis},
	dockercoins.WebUI:  {dockercoins.Redis, dockercoins.RNG, dockercoins.Hasher, dockercoins.Worker},
	dockercoins.Redis:  nil,
}

// servicePolicy is a service's least privilege: write its own name (its leaf
// certificate, its intention checks as a target) and its proxy's, read its peers.
func servicePolicy(svc string) string {
	rules := []string{
		fmt.Sprintf(`service %q { policy = "write" }`, svc),
		fmt.Sprintf(`service %q { policy = "write" }`, svc+"-sidecar-proxy"),
		fmt.Sprintf(`service %q { policy = "write" }`, svc+"-proxy"),
	}
	for _, p := range serviceReads[svc] {
		rules = append(rules, fmt.Sprintf(`service %q { policy = "read" }`, p))
	}
	// The web UI draws every instance under its node: Consul's health API leaves out
	// the entries of nodes the token may not read.
	if svc == dockercoins.WebUI {
		rules = append(rules, `node_prefix "" { policy = "read" }`)
	}
	return strings.Join(rules, "\n")
}

// ConsulACL is a bootstrapped Consul ACL system: the management token and a client
// holding it.
type ConsulACL struct {
	Management string
	client     *api.Client
}

// BootstrapConsul turns on a freshly started Consul's ACLs (the agents run with
// default_policy deny) once: it bootstraps, keeps the management token in
// <state>/consul-management.token (0600), writes the policies, gives the anonymous
// token the dns policy and the agent at addr its agent token. A state folder that
// holds a token already (make up run twice) is only read.
func BootstrapConsul(ctx context.Context, addr, state string) (*ConsulACL, error) {
	anon, err := api.NewClient(&api.Config{Address: addr, Token: "anonymous-bootstrap"})
	if err != nil {
		return nil, err
	}
	secret, made, err := bootstrapOnce(ctx, "consul at "+addr, filepath.Join(state, ConsulTokenFile), "no longer allowed", func() (string, error) {
		tok, _, err := anon.ACL().Bootstrap()
		if err != nil {
			return "", err
		}
		return tok.SecretID, nil
	})
	if err != nil {
		return nil, err
	}
	a, err := newConsulACL(addr, secret)
	if err != nil || !made {
		return a, err
	}
	return a, a.configure(addr)
}

// bootstrapOnce returns the management token kept in file, or makes one with boot (see
// untilBootstrapped) and keeps it there (0600); made says it is new.
func bootstrapOnce(ctx context.Context, what, file, taken string, boot func() (string, error)) (secret string, made bool, err error) {
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	secret, err = untilBootstrapped(ctx, what, taken, file+" is gone: stop the stack and start afresh", boot)
	if err != nil {
		return "", false, err
	}
	return secret, true, os.WriteFile(file, []byte(secret+"\n"), 0o600)
}

// untilBootstrapped calls boot, which bootstraps the ACLs and returns the management
// token, until the servers answer (they do once they have a leader), for up to 30 s.
// An answer holding taken means another bootstrap came first, whose token this stack
// does not hold: hint says what to do then.
func untilBootstrapped(ctx context.Context, what, taken, hint string, boot func() (string, error)) (secret string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = poll.Until(ctx, what+": ACL bootstrap", agentPoll, func() (bool, string, error) {
		s, err := boot()
		if err != nil {
			if strings.Contains(err.Error(), taken) {
				return false, "", fmt.Errorf("%s was bootstrapped by someone else and %s", what, hint)
			}
			return false, err.Error(), nil
		}
		secret = s
		return true, "", nil
	})
	return secret, err
}

// configure writes the stack's policies unless they exist, gives the anonymous token the
// dns policy and the agent at addr its agent token: what follows the bootstrap, safe to
// do again on a stack configured already.
func (a *ConsulACL) configure(addr string) error {
	if err := a.policies(); err != nil {
		return err
	}
	return a.SetAgentToken(addr)
}

// policies writes the stack's policies unless they exist and gives the anonymous token
// the dns policy.
func (a *ConsulACL) policies() error {
	for name, rules := range consulPolicies {
		if _, err := a.policy(name, rules); err != nil {
			return err
		}
	}
	// The anonymous token's own accessor ID is fixed.
	const anonymous = "00000000-0000-0000-0000-000000000002"
	if _, _, err := a.client.ACL().TokenUpdate(&api.ACLToken{AccessorID: anonymous,
		Policies: []*api.ACLTokenPolicyLink{{Name: "dns"}}}, nil); err != nil {
		return fmt.Errorf("consul anonymous token: %w", err)
	}
	return nil
}

func newConsulACL(addr, secret string) (*ConsulACL, error) {
	c, err := api.NewClient(&api.Config{Address: addr, Token: secret})
	if err != nil {
		return nil, fmt.Errorf("consul at %q: %w", addr, err)
	}
	return &ConsulACL{Management: secret, client: c}, nil
}

// policy creates the named policy unless it exists.
func (a *ConsulACL) policy(name, rules string) (*api.ACLPolicy, error) {
	p, _, err := a.client.ACL().PolicyReadByName(name, nil)
	if err == nil && p != nil {
		return p, nil
	}
	p, _, err = a.client.ACL().PolicyCreate(&api.ACLPolicy{Name: name, Rules: rules}, nil)
	if err != nil {
		return nil, fmt.Errorf("consul policy %s: %w", name, err)
	}
	return p, nil
}

// Token returns the secret of the token described as desc holding policy, creating
// the policy (from rules) and the token the first time.
func (a *ConsulACL) Token(desc, policy, rules string) (string, error) {
	return a.token(desc, policy, rules, "")
}

// token is Token, and with secret set, the token's secret is that one, given by the
// operator (a UUID) rather than made by Consul: an agent configured with it before the
// token exists is let in once it does. A token of that description with another secret
// (the lab's secrets were made anew) is replaced.
func (a *ConsulACL) token(desc, policy, rules, secret string) (string, error) {
	list, _, err := a.client.ACL().TokenList(nil)
	if err != nil {
		return "", fmt.Errorf("consul tokens: %w", err)
	}
	for _, t := range list {
		if t.Description != desc {
			continue
		}
		if secret == "" || t.SecretID == secret {
			return t.SecretID, nil
		}
		if _, err := a.client.ACL().TokenDelete(t.AccessorID, nil); err != nil {
			return "", fmt.Errorf("consul token %q with an old secret: %w", desc, err)
		}
	}
	if _, err := a.policy(policy, rules); err != nil {
		return "", err
	}
	t, _, err := a.client.ACL().TokenCreate(&api.ACLToken{Description: desc, SecretID: secret,
		Policies: []*api.ACLTokenPolicyLink{{Name: policy}}}, nil)
	if err != nil {
		return "", fmt.Errorf("consul token %q: %w", desc, err)
	}
	return t.SecretID, nil
}

// ServiceToken is the token of one DockerCoins service (rng, hasher, worker, webui,
// or redis for Redis's Connect proxy).
func (a *ConsulACL) ServiceToken(svc string) (string, error) {
	if _, ok := serviceReads[svc]; !ok {
		return "", fmt.Errorf("no consul policy for service %q", svc)
	}
	return a.Token("dockercoins "+svc, "service-"+svc, servicePolicy(svc))
}

// NomadToken is the token Nomad's agents register the jobs' services with.
func (a *ConsulACL) NomadToken() (string, error) {
	return a.nomadToken("")
}

// nomadToken is NomadToken, with the given secret if not "" (see token).
func (a *ConsulACL) nomadToken(secret string) (string, error) {
	return a.token("nomad agents", "nomad", consulPolicies["nomad"], secret)
}

// agentToken is the token every Consul agent registers its node with, with the given
// secret if not "" (see token).
func (a *ConsulACL) agentToken(secret string) (string, error) {
	return a.token("consul agents", "agent", consulPolicies["agent"], secret)
}

// SetAgentToken gives the Consul agent at addr the agent token, with which it
// registers its node and syncs its services (the agents persist it).
func (a *ConsulACL) SetAgentToken(addr string) error {
	secret, err := a.agentToken("")
	if err != nil {
		return err
	}
	c, err := api.NewClient(&api.Config{Address: addr, Token: a.Management})
	if err != nil {
		return err
	}
	if _, err := c.Agent().UpdateAgentACLToken(secret, nil); err != nil {
		return fmt.Errorf("consul agent token at %s: %w", addr, err)
	}
	return nil
}

// writeNomadConsulToken writes a Nomad agent configuration file (0600) that gives
// Nomad its Consul token.
func (a *ConsulACL) writeNomadConsulToken(path string) error {
	secret, err := a.NomadToken()
	if err != nil {
		return err
	}
	return writeNomadConsulConf(path, secret)
}

// writeNomadConsulConf writes a Nomad agent configuration file (0600) that gives Nomad
// the Consul token secret.
func writeNomadConsulConf(path, secret string) error {
	conf := fmt.Sprintf("# Written by the lab's ACL setup: Nomad's token for its Consul agent.\nconsul {\n  token = %q\n}\n", secret)
	return os.WriteFile(path, []byte(conf), 0o600)
}

// ReadConsulToken reads the management token a stack's bootstrap kept in state.
func ReadConsulToken(state string) (string, error) {
	b, err := os.ReadFile(filepath.Join(state, ConsulTokenFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no Consul operator token in %s: is the stack up?", state)
	}
	return strings.TrimSpace(string(b)), err
}

// randomSecret is a new password: 32 random bytes, hex.
func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

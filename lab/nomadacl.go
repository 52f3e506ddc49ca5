package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// NomadTokenFile is where a cluster's state folder keeps the Nomad management token
// the bootstrap returned (mode 0600): the operator's NOMAD_TOKEN.
const NomadTokenFile = "nomad-management.token"

// The Nomad ACL policies of the cluster. Nomad's anonymous token has no policy, so a
// request without a token may do nothing: no job listed, read or run, no variable, no
// node. Nothing in the cluster needs more: the agents authenticate to the servers by
// their node secrets and the tasks read their variables by their workload identities.
var nomadPolicies = map[string]string{
	// The web UI reads the dockercoins job's groups and allocations ("where it runs").
	// Nomad's namespace capabilities cannot name a job: the others in "default" (redis,
	// jaeger) can be read too, but not their variables.
	"webui-read": `namespace "default" {
  capabilities = ["list-jobs", "read-job", "read-job-scaling"]
}`,
	// The same, and the page's +/- (WEBUI_SCALING): a group's count, nothing else of
	// the job; no submit-job, so no new job, no task, no driver.
	"webui-scale": `namespace "default" {
  capabilities = ["list-jobs", "read-job", "read-job-scaling", "scale-job"]
}`,
}

// NomadACL is a bootstrapped Nomad ACL system: the management token and a client
// holding it.
type NomadACL struct {
	Management string
	client     *api.Client
}

// BootstrapNomad bootstraps the ACLs of a freshly started Nomad server at addr (its
// agents run with lab/nomad/acl.hcl) once and keeps the management token in
// <state>/nomad-management.token (0600). A state folder that holds a token already is
// only read.
func BootstrapNomad(ctx context.Context, addr, state string) (*NomadACL, error) {
	boot, err := nomadBootstrap(addr, "")
	if err != nil {
		return nil, err
	}
	secret, _, err := bootstrapOnce(ctx, "nomad at "+addr, filepath.Join(state, NomadTokenFile), nomadBootstrapped, boot)
	if err != nil {
		return nil, err
	}
	return newNomadACL(addr, secret)
}

// BootstrapNomadWith bootstraps the ACLs of the Nomad server at addr with a management
// token whose secret the operator gives (a UUID), as the Vagrant lab's provisioning
// does on its server. A Nomad bootstrapped with that secret before (provisioning run
// again) is left as it is.
func BootstrapNomadWith(ctx context.Context, addr, secret string) (*NomadACL, error) {
	if secret == "" {
		return nil, errors.New("nomad ACL bootstrap: no management secret given")
	}
	boot, err := nomadBootstrap(addr, secret)
	if err != nil {
		return nil, err
	}
	if _, err := untilBootstrapped(ctx, "nomad at "+addr, nomadBootstrapped, "the given management token is not its own", boot); err != nil {
		return nil, err
	}
	return newNomadACL(addr, secret)
}

// nomadBootstrapped is how Nomad answers a second bootstrap.
const nomadBootstrapped = "bootstrap already done"

// nomadBootstrap returns what bootstraps the ACLs of the Nomad at addr and returns the
// management token: with the given secret, or ("") one Nomad makes. With a secret, a
// Nomad that knows it already counts as bootstrapped.
func nomadBootstrap(addr, secret string) (func() (string, error), error) {
	// A Config of its own, not api.DefaultConfig: no NOMAD_TOKEN from the environment.
	anon, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		return nil, fmt.Errorf("nomad at %q: %w", addr, err)
	}
	var mine *api.Client
	if secret != "" {
		if mine, err = api.NewClient(&api.Config{Address: addr, SecretID: secret}); err != nil {
			return nil, fmt.Errorf("nomad at %q: %w", addr, err)
		}
	}
	return func() (string, error) {
		if mine != nil {
			if _, _, err := mine.ACLTokens().Self(nil); err == nil {
				return secret, nil
			}
		}
		tok, _, err := anon.ACLTokens().BootstrapOpts(secret, nil)
		if err != nil {
			return "", err
		}
		return tok.SecretID, nil
	}, nil
}

func newNomadACL(addr, secret string) (*NomadACL, error) {
	c, err := api.NewClient(&api.Config{Address: addr, SecretID: secret})
	if err != nil {
		return nil, fmt.Errorf("nomad at %q: %w", addr, err)
	}
	return &NomadACL{Management: secret, client: c}, nil
}

// Token returns the secret of the client token named name holding the policy of that
// name (one of nomadPolicies), creating the policy and the token the first time.
func (a *NomadACL) Token(name string) (string, error) {
	rules, ok := nomadPolicies[name]
	if !ok {
		return "", fmt.Errorf("no nomad policy %q", name)
	}
	list, _, err := a.client.ACLTokens().List(nil)
	if err != nil {
		return "", fmt.Errorf("nomad tokens: %w", err)
	}
	for _, t := range list {
		if t.Name == name {
			tok, _, err := a.client.ACLTokens().Info(t.AccessorID, nil)
			if err != nil {
				return "", fmt.Errorf("nomad token %s: %w", name, err)
			}
			return tok.SecretID, nil
		}
	}
	if _, err := a.client.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: rules,
		Description: "dockercoins " + name}, nil); err != nil {
		return "", fmt.Errorf("nomad policy %s: %w", name, err)
	}
	tok, _, err := a.client.ACLTokens().Create(&api.ACLToken{Name: name, Type: "client", Policies: []string{name}}, nil)
	if err != nil {
		return "", fmt.Errorf("nomad token %s: %w", name, err)
	}
	return tok.SecretID, nil
}

// WebUIToken is the web UI's Nomad token: it reads the job, and scales it only if
// scaling is on.
func (a *NomadACL) WebUIToken(scaling bool) (string, error) {
	if scaling {
		return a.Token("webui-scale")
	}
	return a.Token("webui-read")
}

// ReadNomadToken reads the management token a cluster's bootstrap kept in state; ""
// if there is none (a stack without Nomad ACLs).
func ReadNomadToken(state string) (string, error) {
	b, err := os.ReadFile(filepath.Join(state, NomadTokenFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

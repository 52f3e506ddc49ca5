package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/hashicorp/nomad/api"
)

// The Nomad variables the jobs' templates read their secrets from. A task reads only
// the variables of its own job and group (Nomad's workload identity), so rng never
// sees the worker's token nor the Redis password.
const (
	redisVar = "nomad/jobs/redis/redis"  // password (Redis's requirepass), consul_token (its Connect proxy)
	appVars  = "nomad/jobs/dockercoins/" // + group: consul_token, and redis_password for worker and webui
)

// WriteSecrets gives every task its secrets through Nomad variables: each service's
// Consul token (none where s has no Consul ACLs), and the Redis password, generated the
// first time and kept after. A stack writes them as it starts, so any job run on it
// finds them; `dockercoins secrets` writes them on the Vagrant lab. The web UI's Nomad
// token, which Deploy writes, is kept.
func WriteSecrets(ctx context.Context, s *Stack) error {
	vars := s.Nomad.API().Variables()
	password := ""
	if v, _, err := vars.Read(redisVar, nil); err == nil && v != nil {
		password = v.Items["password"]
	} else if err != nil && !errors.Is(err, api.ErrVariablePathNotFound) {
		return fmt.Errorf("nomad variable %s: %w", redisVar, err)
	}
	if password == "" {
		password = randomSecret()
	}
	for _, svc := range append([]string{dockercoins.Redis}, Services...) {
		path, it, keep := appVars+svc, api.VariableItems{}, []string(nil)
		switch svc {
		case dockercoins.Redis:
			path, it["password"] = redisVar, password
		case dockercoins.Worker:
			it["redis_password"] = password
		case dockercoins.WebUI:
			it["redis_password"] = password
			keep = []string{webuiNomadToken}
		}
		it["consul_token"] = ""
		if s.ConsulACL != nil {
			token, err := s.ConsulACL.ServiceToken(svc)
			if err != nil {
				return err
			}
			it["consul_token"] = token
		}
		if err := updateVar(ctx, vars, path, it, keep...); err != nil {
			return err
		}
	}
	return nil
}

// webuiNomadToken is the item of the web UI's variable that holds its Nomad token,
// which its template hands the task as NOMAD_TOKEN.
const webuiNomadToken = "nomad_token"

// WriteWebUIToken puts the web UI's Nomad token in its variable: the one that may
// scale the job if scaling is on, else the read-only one. Without Nomad ACLs there is
// none to write. Deploy calls it; `dockercoins secrets` does on the Vagrant lab, whose
// jobs the operator runs.
func WriteWebUIToken(ctx context.Context, s *Stack, scaling bool) error {
	if s.NomadACL == nil {
		return nil
	}
	token, err := s.NomadACL.WebUIToken(scaling)
	if err != nil {
		return err
	}
	vars := s.Nomad.API().Variables()
	path := appVars + dockercoins.WebUI
	v, _, err := vars.Read(path, nil)
	if err != nil {
		return fmt.Errorf("nomad variable %s (WriteSecrets first): %w", path, err)
	}
	if v.Items[webuiNomadToken] == token {
		return nil // unchanged: the running web UI is not restarted
	}
	v.Items[webuiNomadToken] = token
	return updateVar(ctx, vars, path, v.Items)
}

// updateVar writes the variable at path with items, keeping the existing values of
// the items named in keep that items does not set.
func updateVar(ctx context.Context, vars *api.Variables, path string, items api.VariableItems, keep ...string) error {
	if len(keep) > 0 {
		old, _, err := vars.Read(path, nil)
		if err != nil && !errors.Is(err, api.ErrVariablePathNotFound) {
			return fmt.Errorf("nomad variable %s: %w", path, err)
		}
		for _, k := range keep {
			if _, set := items[k]; !set && old != nil && old.Items[k] != "" {
				items[k] = old.Items[k]
			}
		}
	}
	// A server that has just been elected answers before its keyring is ready.
	err := poll.Until(ctx, "Nomad's keyring", agentPoll, func() (bool, string, error) {
		_, _, err := vars.Update(&api.Variable{Path: path, Items: items}, nil)
		if err != nil && strings.Contains(err.Error(), "keyring has not been initialized") {
			return false, err.Error(), nil
		}
		return true, "", err
	})
	if err != nil {
		return fmt.Errorf("nomad variable %s: %w", path, err)
	}
	return nil
}

// RedisPassword reads the Redis password the jobs of the stack c runs use, for
// people and tests that hold the Nomad API.
func RedisPassword(c *nomad.Client) (string, error) {
	v, _, err := c.API().Variables().Read(redisVar, nil)
	if err != nil {
		return "", fmt.Errorf("nomad variable %s: %w", redisVar, err)
	}
	return v.Items["password"], nil
}

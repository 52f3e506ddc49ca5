package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/hashicorp/consul/api"
)

// ComposeSecrets is the secrets job of docker-compose.yml, a one-shot container that
// runs before Redis and the app at every `up`. Each container that needs a secret mounts
// a named volume of its own, which the job also mounts at Dir/<holder>:
//
//   - Dir/operator: consul-management.token, the ACL bootstrap's management token
//     (the operator's; no service mounts it);
//   - Dir/redis: redis.password and auth.conf (its requirepass line), for Redis;
//   - Dir/<service> for rng, hasher, worker and webui: consul.token, the service's own
//     Consul token, and for worker and webui redis.password.
//
// What exists is kept: the Redis password is made once, Consul's ACLs are bootstrapped
// once (its data is in a volume too), and a run on a stack set up already only checks
// and rewrites the same files. `docker compose down -v` drops the volumes, and the next
// `up` starts afresh.
type ComposeSecrets struct {
	ConsulAddr string // the Consul server's HTTP API
	Dir        string // where the volumes are mounted
	RedisAddr  string // Redis's ip:port, registered in Consul with a TCP check
	// The users the files are for (-1: leave them the job's own): the app images run
	// as distroless's nonroot, Redis's as redis.
	AppUID, RedisUID int
}

// The files ComposeSecrets writes in each holder's folder (the operator's holds
// ConsulTokenFile).
const (
	ComposeConsulToken   = "consul.token"
	ComposeRedisPassword = "redis.password"
	ComposeRedisAuth     = "auth.conf"
)

// ComposeOperator is the operator's folder: the management token, which no service holds.
const ComposeOperator = "operator"

// composeTokenHolders are the containers that hold a Consul token of their own: the
// app services, which register themselves. Redis's registration is made by the job,
// with Redis's token, and kept by the agent.
var composeTokenHolders = []string{dockercoins.RNG, dockercoins.Hasher, dockercoins.Worker, dockercoins.WebUI}

// composeRedisClients hold the Redis password besides Redis itself.
var composeRedisClients = []string{dockercoins.Worker, dockercoins.WebUI}

// Write makes or keeps every secret, configures Consul's ACLs and registers Redis,
// saying what it did on out (never a secret).
func (c ComposeSecrets) Write(ctx context.Context, out io.Writer) error {
	for _, h := range append([]string{ComposeOperator, dockercoins.Redis}, composeTokenHolders...) {
		if st, err := os.Stat(filepath.Join(c.Dir, h)); err != nil || !st.IsDir() {
			return fmt.Errorf("no folder %s: mount the %s volume there", filepath.Join(c.Dir, h), h)
		}
	}
	password, made, err := c.redisPassword()
	if err != nil {
		return err
	}
	if err := c.writeFile(dockercoins.Redis, ComposeRedisPassword, password+"\n", c.RedisUID); err != nil {
		return err
	}
	if err := c.writeFile(dockercoins.Redis, ComposeRedisAuth, "requirepass "+password+"\n", c.RedisUID); err != nil {
		return err
	}
	for _, svc := range composeRedisClients {
		if err := c.writeFile(svc, ComposeRedisPassword, password+"\n", c.AppUID); err != nil {
			return err
		}
	}
	if made {
		fmt.Fprintln(out, "redis password: made")
	} else {
		fmt.Fprintln(out, "redis password: kept")
	}

	a, bootstrapped, err := c.consulACL(ctx)
	if err != nil {
		return err
	}
	if bootstrapped {
		fmt.Fprintln(out, "consul ACLs: bootstrapped (default deny)")
	} else {
		fmt.Fprintln(out, "consul ACLs: bootstrapped already, policies checked")
	}
	for _, svc := range composeTokenHolders {
		token, err := a.ServiceToken(svc)
		if err != nil {
			return err
		}
		if err := c.writeFile(svc, ComposeConsulToken, token+"\n", c.AppUID); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "consul tokens: %s, each in its own volume\n", strings.Join(composeTokenHolders, ", "))
	if err := c.registerRedis(a); err != nil {
		return err
	}
	fmt.Fprintf(out, "redis: registered in consul at %s with a TCP check\n", c.RedisAddr)
	return nil
}

// redisPassword is the password kept in the redis volume, or a new one.
func (c ComposeSecrets) redisPassword() (password string, made bool, err error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, dockercoins.Redis, ComposeRedisPassword))
	switch {
	case err == nil && strings.TrimSpace(string(b)) != "":
		return strings.TrimSpace(string(b)), false, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", false, err
	}
	return randomSecret(), true, nil
}

// consulACL is the stack's ACL system: bootstrapped now, or earlier with its
// management token kept in the operator volume. A kept token Consul no longer knows
// means Consul's data was dropped while the secrets were kept: the token goes and
// Consul is bootstrapped again.
func (c ComposeSecrets) consulACL(ctx context.Context) (a *ConsulACL, bootstrapped bool, err error) {
	state := filepath.Join(c.Dir, ComposeOperator)
	if secret, err := ReadConsulToken(state); err == nil {
		a, err := newConsulACL(c.ConsulAddr, secret)
		if err != nil {
			return nil, false, err
		}
		known := true
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		// A server just started answers 500 until it has a leader.
		err = poll.Until(wait, "Consul's ACLs", agentPoll, func() (bool, string, error) {
			_, _, err := a.client.ACL().TokenReadSelf(nil)
			if err != nil && strings.Contains(err.Error(), "ACL not found") {
				known = false
				return true, "", nil
			}
			if err != nil {
				return false, err.Error(), nil
			}
			return true, "", nil
		})
		if err != nil {
			return nil, false, err
		}
		if known {
			return a, false, a.configure(c.ConsulAddr)
		}
		if err := os.Remove(filepath.Join(state, ConsulTokenFile)); err != nil {
			return nil, false, err
		}
	}
	a, err = BootstrapConsul(ctx, c.ConsulAddr, state)
	return a, true, err
}

// registerRedis registers Redis with the Consul agent, with Redis's own token, which
// the agent keeps (in its data folder) to sync the registration; Redis itself cannot
// register.
func (c ComposeSecrets) registerRedis(a *ConsulACL) error {
	host, p, err := net.SplitHostPort(c.RedisAddr)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || net.ParseIP(host) == nil {
		return fmt.Errorf("redis address %q: want ip:port", c.RedisAddr)
	}
	token, err := a.ServiceToken(dockercoins.Redis)
	if err != nil {
		return err
	}
	client, err := api.NewClient(&api.Config{Address: c.ConsulAddr, Token: token})
	if err != nil {
		return err
	}
	reg := &api.AgentServiceRegistration{ID: dockercoins.Redis, Name: dockercoins.Redis, Address: host, Port: port,
		Checks: api.AgentServiceChecks{{Name: "redis tcp", TCP: c.RedisAddr, Interval: "2s", Timeout: "1s"}}}
	if err := client.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{ReplaceExistingChecks: true}); err != nil {
		return fmt.Errorf("registering redis in consul: %w", err)
	}
	return nil
}

// writeFile writes a secret file in holder's folder, readable by uid alone; a reader
// never sees it half written.
func (c ComposeSecrets) writeFile(holder, name, content string, uid int) error {
	path := filepath.Join(c.Dir, holder, name)
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, []byte(content), 0o400); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Chown(tmp, uid, -1); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("secret file for %s: %w", holder, err)
		}
	}
	return os.Rename(tmp, path)
}

// ReadComposeOperatorToken reads the Consul management token the secrets job kept in
// dir's operator folder.
func ReadComposeOperatorToken(dir string) (string, error) {
	return ReadConsulToken(filepath.Join(dir, ComposeOperator))
}

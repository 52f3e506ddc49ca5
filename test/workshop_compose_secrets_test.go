package test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// composeSecrets are a Compose stack's secrets as its volumes hold them.
type composeSecrets struct {
	redis    string            // the Redis password
	operator string            // Consul's management token
	tokens   map[string]string // each app service's Consul token
}

func (s composeSecrets) all() map[string]string {
	m := map[string]string{"the Redis password": s.redis, "the operator token": s.operator}
	for svc, tok := range s.tokens {
		m[svc+"'s Consul token"] = tok
	}
	return m
}

// volume is the host folder of one of the project's named volumes.
func (c *compose) volume(ctx context.Context, name string) string {
	c.t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "volume", "inspect", "-f", "{{.Mountpoint}}", c.project+"_"+name).Output()
	if err != nil {
		c.t.Fatalf("docker volume inspect %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// secretFile reads one file of a secrets volume from the host.
func (c *compose) secretFile(ctx context.Context, volume, file string) string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.volume(ctx, volume), file))
	if err != nil {
		c.t.Fatalf("secret %s in volume %s: %v", file, volume, err)
	}
	return strings.TrimSpace(string(b))
}

// readSecrets reads the stack's secrets from its volumes, and the operator token the
// way README says an operator gets it; it checks that each holder's files are its own
// user's alone.
func (c *compose) readSecrets(ctx context.Context) composeSecrets {
	c.t.Helper()
	s := composeSecrets{redis: c.secretFile(ctx, "redis-secrets", lab.ComposeRedisPassword), tokens: map[string]string{}}
	for _, svc := range appServices {
		s.tokens[svc] = c.secretFile(ctx, svc+"-secrets", lab.ComposeConsulToken)
	}
	for _, svc := range []string{"worker", "webui"} {
		if p := c.secretFile(ctx, svc+"-secrets", lab.ComposeRedisPassword); p != s.redis {
			c.t.Errorf("%s's copy of the Redis password differs from Redis's", svc)
		}
	}
	for _, f := range []struct{ volume, file string }{{"redis-secrets", lab.ComposeRedisPassword}, {"rng-secrets", lab.ComposeConsulToken}, {"operator-secrets", lab.ConsulTokenFile}} {
		st, err := os.Stat(filepath.Join(c.volume(ctx, f.volume), f.file))
		if err == nil && st.Mode().Perm()&0o077 != 0 {
			c.t.Errorf("%s/%s has mode %v: others may read it", f.volume, f.file, st.Mode().Perm())
		}
	}
	s.operator = c.secretFile(ctx, "operator-secrets", lab.ConsulTokenFile)
	out, err := c.cmd(ctx, "run", "--rm", "-T", "secrets", "compose-token").Output()
	if got := strings.TrimSpace(string(out)); err != nil || got != s.operator {
		c.t.Errorf("docker-compose run --rm -T secrets compose-token: %v; its output is %d characters, the kept token's %d: want the same", err, len(got), len(s.operator))
	} else {
		c.t.Logf("$ docker-compose run --rm -T secrets compose-token   -> the operator token (%d characters, as kept in operator-secrets)", len(got))
	}
	return s
}

// checkSecurity tries, from the host, what an outsider would on the running stack:
// Redis without its password, Consul without a token (a leaf certificate, an
// intention), a service's token where the operator's is needed; then checks that DNS
// still answers without one, that each container mounts only its own secrets, and that
// no secret is in the repository, the compose file's configuration, a container's
// settings or the logs. Each try is logged with what came of it.
func (c *compose) checkSecurity(ctx context.Context, s composeSecrets) {
	c.t.Helper()
	t := c.t
	for what, v := range s.all() {
		if len(v) < 32 {
			t.Errorf("%s is %d characters: want a random secret", what, len(v))
		}
	}

	// Redis, at its address on the project's network, which the host reaches.
	redisIP := c.ipOf(ctx, "redis")
	addr := redisIP + ":6379"
	reply := redisPing(addr)
	t.Logf("PING to Redis at %s from the host, no password: %s", addr, reply)
	if !strings.HasPrefix(reply, "-NOAUTH") {
		t.Errorf("Redis answered a PING without the password with %q, want NOAUTH", reply)
	}
	reply = redisSend(addr, "AUTH "+strings.Repeat("0", 64), "PING")
	t.Logf("AUTH with a wrong password, then PING: %s", reply)
	if strings.Contains(reply, "PONG") {
		t.Errorf("Redis took a wrong password: %q", reply)
	}
	reply = redisSend(addr, "AUTH "+s.redis, "PING")
	t.Logf("AUTH with the password from redis-secrets, then PING: %s", reply)
	if reply != "+OK +PONG" {
		t.Errorf("Redis with its password: %q, want +OK +PONG", reply)
	}

	// Consul: anonymous and service tokens against what only the operator may do.
	consulAddr := "http://127.0.0.1:" + strconv.Itoa(c.ports["CONSUL_PORT"])
	for _, try := range []struct {
		who, path, token string
		want             int
	}{
		{"anonymous", "/v1/agent/connect/ca/leaf/worker", "", 403},
		{"rng's token", "/v1/agent/connect/ca/leaf/worker", s.tokens["rng"], 403},
		{"anonymous", "/v1/agent/connect/ca/leaf/rng", "", 403},
		{"anonymous", "/v1/acl/tokens", "", 403},
		// Connect is on: the operator gets a certificate (of a name no service uses).
		{"the operator token", "/v1/agent/connect/ca/leaf/student", s.operator, 200},
	} {
		code, body := consulGet(t, consulAddr+try.path, try.token)
		t.Logf("GET %s as %s: %d %s", try.path, try.who, code, firstLine(body))
		if code != try.want {
			t.Errorf("GET %s as %s: %d, want %d", try.path, try.who, code, try.want)
		}
	}
	_, err := consulClient(t, consulAddr, "").KV().Put(&api.KVPair{Key: "dockercoins/probe", Value: []byte("x")}, nil)
	t.Logf("PUT /v1/kv/dockercoins/probe as anonymous: %v", err)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("writing a key as anonymous: %v, want a 403 refusal", err)
	}
	allow := &api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: "rng",
		Sources: []*api.SourceIntention{{Name: "student", Action: api.IntentionActionAllow}}}
	for _, try := range []struct{ who, token string }{{"anonymous", ""}, {"the worker's token", s.tokens["worker"]}, {"rng's own token", s.tokens["rng"]}} {
		_, _, err := consulClient(t, consulAddr, try.token).ConfigEntries().Set(allow, nil)
		t.Logf("write the intention student -> rng as %s: %v", try.who, err)
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("writing an intention as %s: %v, want a 403 refusal", try.who, err)
		}
	}
	operator := consulClient(t, consulAddr, s.operator)
	if _, _, err := operator.ConfigEntries().Set(allow, nil); err != nil {
		t.Errorf("write the intention student -> rng with the operator token: %v", err)
	} else {
		t.Log("write the intention student -> rng with the operator token: done")
		if _, err := operator.ConfigEntries().Delete(api.ServiceIntentions, "rng", nil); err != nil {
			t.Errorf("delete it with the operator token: %v", err)
		}
	}
	// Without a token DNS still answers, for the peers every loop needs.
	for _, svc := range []string{"rng", "hasher", "redis"} {
		srv := c.lookupSRV(ctx, svc)
		t.Logf("Consul DNS, no token: %s.service.consul -> %d SRV records", svc, len(srv))
		if len(srv) == 0 {
			t.Errorf("Consul DNS gives no %s without a token", svc)
		}
	}

	// Each container mounts its own secrets volume and no other.
	for _, id := range c.containers(ctx, false) {
		out, err := exec.CommandContext(ctx, "docker", "inspect", "-f",
			`{{index .Config.Labels "com.docker.compose.service"}}{{range .Mounts}} {{.Name}}{{end}}`, id).Output()
		if err != nil {
			t.Fatalf("docker inspect %s: %v", id, err)
		}
		f := strings.Fields(string(out))
		svc, mine := f[0], []string{}
		for _, v := range f[1:] {
			if strings.HasSuffix(v, "-secrets") {
				mine = append(mine, strings.TrimPrefix(v, c.project+"_"))
			}
		}
		want := []string{}
		if slices.Contains(secretHolders, svc) {
			want = []string{svc + "-secrets"}
		}
		if !slices.Equal(mine, want) {
			t.Errorf("container %s (%s) mounts the secrets volumes %v, want %v", id, svc, mine, want)
		}
	}
	t.Logf("each running container mounts only its own secrets volume (%v)", secretHolders)

	// No secret anywhere it could leak from.
	places := map[string][]byte{}
	if out, err := c.cmd(ctx, "config").Output(); err == nil {
		places["docker-compose config"] = out
	} else {
		t.Errorf("docker-compose config: %v", err)
	}
	if out, err := c.cmd(ctx, "logs", "--no-color").Output(); err == nil {
		places["docker-compose logs"] = out
	}
	for _, id := range c.containers(ctx, true) {
		out, _ := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{json .Config}} {{json .Args}}", id).Output()
		places["container "+id+" settings"] = out
	}
	root := testbed.Root()
	files, _ := testbed.TreeFiles(root, func(rel string, b []byte) { places[rel] = b })
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "log", "--all", "-p", "--no-color").Output(); err == nil {
		places["the repository's history"] = out
	}
	for where, b := range places {
		for what, v := range s.all() {
			if v != "" && bytes.Contains(b, []byte(v)) {
				t.Errorf("%s is in %s", what, where)
			}
		}
	}
	t.Logf("no secret in %d files of the working tree, the history, docker-compose config, the logs or the containers' settings", files)
}

// ipOf is the address of a service's (first) container on the project's network.
func (c *compose) ipOf(ctx context.Context, service string) string {
	c.t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--filter", "label=com.docker.compose.project="+c.project,
		"--filter", "label=com.docker.compose.service="+service).Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) == 0 {
		c.t.Fatalf("no %s container: %v", service, err)
	}
	out, err = exec.CommandContext(ctx, "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", ids[0]).Output()
	if err != nil {
		c.t.Fatalf("docker inspect %s: %v", service, err)
	}
	return strings.TrimSpace(string(out))
}

// redisSend sends commands (inline, one a line) to addr and returns the replies.
func redisSend(addr string, cmds ...string) string {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "no answer: " + err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	conn.Write([]byte(strings.Join(cmds, "\r\n") + "\r\n"))
	var got []byte
	b := make([]byte, 256)
	for strings.Count(string(got), "\r\n") < len(cmds) {
		n, err := conn.Read(b)
		got = append(got, b[:n]...)
		if err != nil {
			break
		}
	}
	return strings.Join(strings.Fields(string(got)), " ")
}

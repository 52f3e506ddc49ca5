package test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// secretHolders are the containers of docker-compose.yml that hold a secret, each in a
// volume of its own named <holder>-secrets; the secrets job mounts them all.
var secretHolders = []string{"rng", "hasher", "worker", "webui", "redis"}

// The file holds no secret and gives each container only its own: Consul runs with the
// ACL settings of every stack (default deny), the services read their Consul token and
// the Redis password from files in their own volume, Redis includes its requirepass
// from its own and its health check authenticates, and the management token's volume
// is mounted by the secrets job alone.
func TestComposeSecretsStayInTheirHoldersVolumes(t *testing.T) {
	p := loadCompose(t)
	mounts := map[string][]string{} // volume -> services mounting it
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && strings.HasSuffix(v.Source, "-secrets") {
				mounts[v.Source] = append(mounts[v.Source], s.Name)
				if s.Name != "secrets" && !v.ReadOnly {
					t.Errorf("%s mounts %s read-write", s.Name, v.Source)
				}
			}
		}
		for k, v := range s.Environment {
			if v == nil {
				continue
			}
			if (strings.Contains(k, "TOKEN") || strings.Contains(k, "PASSWORD")) && !strings.HasSuffix(k, "_FILE") {
				t.Errorf("%s sets %s in the file: secrets come from its volume", s.Name, k)
			}
		}
	}
	for _, h := range secretHolders {
		got := mounts[h+"-secrets"]
		slices.Sort(got)
		want := []string{h, "secrets"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("volume %s-secrets is mounted by %v, want %v", h, got, want)
		}
	}
	if got := mounts["operator-secrets"]; !slices.Equal(got, []string{"secrets"}) {
		t.Errorf("operator-secrets (the management token) is mounted by %v, want the secrets job alone", got)
	}
	t.Logf("secrets volumes and who mounts them: %v", mounts)

	for _, name := range appServices {
		s, _ := p.GetService(name)
		if v := s.Environment["CONSUL_HTTP_TOKEN_FILE"]; v == nil || *v != "/secrets/consul.token" {
			t.Errorf("%s: CONSUL_HTTP_TOKEN_FILE=%v, want its volume's /secrets/consul.token", name, v)
		}
	}
	for _, name := range []string{"worker", "webui"} {
		s, _ := p.GetService(name)
		if v := s.Environment["REDIS_PASSWORD_FILE"]; v == nil || *v != "/secrets/redis.password" {
			t.Errorf("%s: REDIS_PASSWORD_FILE=%v, want its volume's /secrets/redis.password", name, v)
		}
	}

	consul, _ := p.GetService("consul")
	cmd := strings.Join(consul.Command, " ")
	if strings.Contains(cmd, "-dev") || !strings.Contains(cmd, "-config-file=/consul/acl.hcl") {
		t.Errorf("consul runs %q: want a server with the ACL settings file, not -dev", cmd)
	}
	if !slices.ContainsFunc(consul.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Target == "/consul/acl.hcl" && strings.HasSuffix(v.Source, "lab/consul/acl.hcl")
	}) {
		t.Errorf("consul does not mount lab/consul/acl.hcl, the ACL settings of every stack")
	}
	redis, _ := p.GetService("redis")
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--include /secrets/auth.conf") {
		t.Errorf("redis runs %q: it does not include its requirepass", cmd)
	}
	if hc := strings.Join(redis.HealthCheck.Test, " "); !strings.Contains(hc, "/secrets/redis.password") {
		t.Errorf("redis's health check %q does not authenticate", hc)
	}
	if dep, ok := redis.DependsOn["secrets"]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("redis does not wait for its password")
	}
	secrets, _ := p.GetService("secrets")
	if secrets.Restart != "" && secrets.Restart != types.RestartPolicyNo {
		t.Errorf("the secrets job restarts (%s): it is one-shot", secrets.Restart)
	}
}

// The compose file's secrets job (lab.ComposeSecrets), run against a real Consul server
// configured as the compose file configures it (lab/consul/acl.hcl, data on disk): it
// makes the secrets the first time, keeps them on later runs and across a restart of
// Consul, and bootstraps again when Consul's data is gone but the secrets are not. Each
// token can do what its holder needs and no more.
func TestComposeSecretsJobOnConsul(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, h := range append([]string{lab.ComposeOperator}, secretHolders...) {
		if err := os.Mkdir(filepath.Join(dir, h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ports := testbed.FreePorts(t, 5)
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	redisAddr := "10.211.0.10:6379" // only registered, never dialed but by the agent's check
	start := func(data string) *testbed.Proc {
		p := testbed.Start(t, "consul", []string{"CHECKPOINT_DISABLE=1"}, testbed.Tool(t, "consul"),
			"agent", "-server", "-bootstrap-expect=1", "-node=consul", "-data-dir="+data,
			"-bind=127.0.0.1", "-client=127.0.0.1", "-http-port", strconv.Itoa(ports[0]), "-dns-port", strconv.Itoa(ports[1]),
			"-serf-lan-port", strconv.Itoa(ports[2]), "-serf-wan-port", "-1", "-server-port", strconv.Itoa(ports[3]),
			"-grpc-port", "-1", "-grpc-tls-port", "-1", "-log-level", "warn",
			"-config-file="+filepath.Join(testbed.Root(), "lab", "consul", "acl.hcl"), "-hcl", "connect { enabled = true }")
		return p
	}
	job := lab.ComposeSecrets{ConsulAddr: addr, Dir: dir, RedisAddr: redisAddr, AppUID: -1, RedisUID: -1}
	run := func(want ...string) {
		t.Helper()
		var out bytes.Buffer
		began := time.Now()
		if err := job.Write(ctx, &out); err != nil {
			t.Fatalf("the secrets job: %v\n%s", err, out.String())
		}
		t.Logf("the secrets job (%.1fs):\n%s", time.Since(began).Seconds(), out.String())
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("the job did not say %q", w)
			}
		}
	}
	read := func() map[string]string {
		got := map[string]string{}
		for _, f := range []string{"operator/" + lab.ConsulTokenFile, "redis/" + lab.ComposeRedisPassword, "redis/" + lab.ComposeRedisAuth,
			"rng/" + lab.ComposeConsulToken, "hasher/" + lab.ComposeConsulToken, "worker/" + lab.ComposeConsulToken,
			"webui/" + lab.ComposeConsulToken, "worker/" + lab.ComposeRedisPassword, "webui/" + lab.ComposeRedisPassword} {
			p := filepath.Join(dir, f)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(p); st.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s has mode %v", f, st.Mode().Perm())
			}
			got[f] = strings.TrimSpace(string(b))
		}
		// Nothing else: no token of another holder, no leftover.
		entries, _ := os.ReadDir(filepath.Join(dir, "rng"))
		if len(entries) != 1 {
			t.Errorf("rng's volume holds %d files, want its token alone", len(entries))
		}
		return got
	}

	data := t.TempDir()
	consul := start(data)
	run("redis password: made", "consul ACLs: bootstrapped (default deny)", "redis: registered")
	first := read()
	if first["redis/"+lab.ComposeRedisAuth] != "requirepass "+first["redis/"+lab.ComposeRedisPassword] ||
		first["worker/"+lab.ComposeRedisPassword] != first["redis/"+lab.ComposeRedisPassword] {
		t.Errorf("Redis's requirepass and the workers' password differ")
	}
	http := "http://" + addr
	tok := func(f string) string { return first[f] }
	for _, try := range []struct {
		who, path, token string
		want             int
	}{
		{"anonymous", "/v1/agent/connect/ca/leaf/rng", "", 403},
		{"rng's token", "/v1/agent/connect/ca/leaf/rng", tok("rng/consul.token"), 200},
		{"rng's token", "/v1/agent/connect/ca/leaf/worker", tok("rng/consul.token"), 403},
		{"the worker's token", "/v1/agent/connect/ca/leaf/worker", tok("worker/consul.token"), 200},
		{"the worker's token", "/v1/acl/tokens", tok("worker/consul.token"), 403},
		{"the operator token", "/v1/acl/tokens", tok("operator/" + lab.ConsulTokenFile), 200},
	} {
		code, body := consulGet(t, http+try.path, try.token)
		t.Logf("GET %s as %s: %d %s", try.path, try.who, code, firstLine(body))
		if code != try.want {
			t.Errorf("GET %s as %s: %d, want %d", try.path, try.who, code, try.want)
		}
	}
	// Redis is in the catalog, readable without a token (what DNS tells).
	entries, _, err := consulClient(t, http, "").Catalog().Service("redis", "", nil)
	if err != nil || len(entries) != 1 || fmt.Sprintf("%s:%d", entries[0].ServiceAddress, entries[0].ServicePort) != redisAddr {
		t.Fatalf("redis in the catalog, read anonymously: %v %v", entries, err)
	}
	checks, err := consulClient(t, http, tok("operator/"+lab.ConsulTokenFile)).Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Logf("agent check %q of %s: %s", c.Name, c.ServiceName, c.Status)
	}

	run("redis password: kept", "consul ACLs: bootstrapped already")
	if again := read(); !maps.Equal(again, first) {
		t.Errorf("a second run changed the secrets")
	}
	consul.Stop(10 * time.Second)
	consul = start(data)
	run("redis password: kept", "consul ACLs: bootstrapped already")
	if again := read(); !maps.Equal(again, first) {
		t.Errorf("a run after Consul restarted on its data changed the secrets")
	}
	code, _ := consulGet(t, http+"/v1/agent/connect/ca/leaf/hasher", tok("hasher/consul.token"))
	t.Logf("after Consul restarted on its data: hasher's token still mints hasher's certificate: %d", code)
	if code != 200 {
		t.Errorf("hasher's token after Consul's restart: %d", code)
	}

	// Consul's data dropped, the secrets kept: bootstrapped again, password kept.
	consul.Stop(10 * time.Second)
	start(t.TempDir())
	run("redis password: kept", "consul ACLs: bootstrapped (default deny)")
	fresh := read()
	if fresh["redis/"+lab.ComposeRedisPassword] != first["redis/"+lab.ComposeRedisPassword] {
		t.Errorf("the Redis password changed with Consul's data")
	}
	if fresh["rng/consul.token"] == first["rng/consul.token"] {
		t.Errorf("rng's token is the one the dropped Consul knew")
	}
	code, _ = consulGet(t, http+"/v1/agent/connect/ca/leaf/rng", fresh["rng/consul.token"])
	t.Logf("a fresh Consul, the same secrets volumes: bootstrapped again, rng's new token mints its certificate: %d", code)
	if code != 200 {
		t.Errorf("rng's new token: %d", code)
	}
}

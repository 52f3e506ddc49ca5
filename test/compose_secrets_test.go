package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
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

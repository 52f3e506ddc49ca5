package test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

var appServices = []string{"rng", "hasher", "worker", "webui"}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(testbed.Root(), "docker-compose.yml")},
		cli.WithWorkingDirectory(testbed.Root()), cli.WithName("dockercoins"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func TestComposeAppServicesAreBuiltAndChecked(t *testing.T) {
	p := loadCompose(t)
	for _, name := range appServices {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Build == nil {
			t.Fatalf("%s has no build section", name)
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: Dockerfile %s in context %s: %v", name, s.Build.Dockerfile, s.Build.Context, err)
		}
		if !strings.HasPrefix(filepath.ToSlash(s.Build.Dockerfile), "services/"+name+"/") {
			t.Errorf("%s is built from %s, not from its own folder", name, s.Build.Dockerfile)
		}
		for _, v := range []string{"CONSUL_HTTP_ADDR", "CONSUL_DNS_ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
			if val := s.Environment[v]; val == nil || *val == "" {
				t.Errorf("%s does not set %s", name, v)
			}
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
		if dep, ok := s.DependsOn["consul"]; !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s does not wait for a healthy consul", name)
		}
		if dep, ok := s.DependsOn["secrets"]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s does not wait for the secrets job to complete", name)
		}
	}
}

func TestComposePublishesTheWorkshopPorts(t *testing.T) {
	p := loadCompose(t)
	want := map[string]uint32{"webui": 8000, "rng": 8001, "hasher": 8002, "consul": 8500, "jaeger": 16686}
	for name, port := range want {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Target == port && pc.Published == strconv.Itoa(int(port))
		}) {
			t.Errorf("%s does not publish %d", name, port)
		}
	}
	if w, _ := p.GetService("worker"); len(w.Ports) != 0 {
		t.Errorf("worker publishes %v: --scale worker=10 would clash", w.Ports)
	}
}

// Peers are found through Consul DNS: no app service is pointed at another service by
// its Compose name; every address it is given is an IP literal.
func TestComposeNothingResolvesPeersByComposeName(t *testing.T) {
	p := loadCompose(t)
	for _, name := range appServices {
		s, _ := p.GetService(name)
		for k, v := range s.Environment {
			if v == nil {
				continue
			}
			if strings.HasSuffix(k, "_ADDR") && k != "CONSUL_HTTP_ADDR" && k != "CONSUL_DNS_ADDR" && k != "ADVERTISE_ADDR" {
				t.Errorf("%s sets %s=%s: peers must come from Consul DNS", name, k, *v)
			}
			if host := hostOf(*v); host != "" && net.ParseIP(host) == nil {
				t.Errorf("%s: %s=%s names host %q, not an address", name, k, *v, host)
			}
		}
	}
	secrets, _ := p.GetService("secrets")
	redis, _ := p.GetService("redis")
	cmd := strings.Join(secrets.Command, " ")
	ip := redis.Networks["dockercoins"].Ipv4Address
	if ip == "" || !strings.Contains(cmd, "-redis-addr "+ip+":6379") {
		t.Errorf("the secrets job does not register redis at its address %q: %s", ip, cmd)
	}
}

func hostOf(v string) string {
	if strings.Contains(v, "://") {
		if u, err := url.Parse(v); err == nil {
			return u.Hostname()
		}
	}
	if h, _, err := net.SplitHostPort(v); err == nil {
		return h
	}
	return ""
}

// With dockerd running (FORWARD policy DROP, bridged traffic filtered), two nodes of a
// lab network reach each other, because CreateNet lets its bridge through in
// DOCKER-USER; without those rules they do not; Delete removes them. The network is on
// 10.198.x, a range no other rule on the machine lets through.
func TestNetBridgeIsAllowedThroughDocker(t *testing.T) {
	rootWithDocker(t, 2*time.Minute)
	k := 100 + os.Getpid()%150
	bridge := fmt.Sprintf("dcfw%dbr", k)
	n, err := lab.CreateNet(bridge, fmt.Sprintf("10.198.%d", k), fmt.Sprintf("dctest-%d-fw-", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	defer func() {
		if !deleted {
			n.Delete()
		}
	}()
	a, err := n.AddNode("a", 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.AddNode("b", 3)
	if err != nil {
		t.Fatal(err)
	}
	srv := b.Command(testbed.Binary(t, "hasher"), "-addr", b.IP+":8002", "-consul-register=false", "-access-log=false")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	reach := func() bool {
		return a.Command("curl", "-sf", "-m", "2", "http://"+b.IP+":8002"+dockercoins.HealthPath).Run() == nil
	}
	rules := func() string {
		out, _ := exec.Command("iptables", "-S", "DOCKER-USER").Output()
		var mine []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, " "+bridge+" ") {
				mine = append(mine, l)
			}
		}
		return strings.Join(mine, "; ")
	}
	if !testbed.Within(10*time.Second, reach) {
		t.Fatalf("node a does not reach node b across %s (rules: %q)", bridge, rules())
	}
	t.Logf("a reaches b; rules for %s: %s", bridge, rules())

	for _, dir := range []string{"-i", "-o"} {
		if out, err := exec.Command("iptables", "-D", "DOCKER-USER", dir, bridge, "-j", "ACCEPT").CombinedOutput(); err != nil {
			t.Fatalf("remove the rule: %v: %s", err, out)
		}
	}
	if reach() {
		t.Errorf("node a reaches node b without the rules: they are not what lets it through")
	}
	for _, dir := range []string{"-i", "-o"} {
		exec.Command("iptables", "-I", "DOCKER-USER", dir, bridge, "-j", "ACCEPT").Run()
	}
	if !reach() {
		t.Errorf("node a does not reach node b once the rules are back")
	}
	srv.Process.Kill()
	srv.Wait()
	deleted = true
	if err := n.Delete(); err != nil {
		t.Fatal(err)
	}
	if r := rules(); r != "" {
		t.Errorf("rules left after the network was deleted: %s", r)
	}
}

// rootWithDocker fails a test not run as root (namespaces, iptables and the Docker
// daemon need it), makes sure a daemon answers, and gives the test a context that ends
// after timeout.
func rootWithDocker(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces, iptables and the Docker daemon need root: run the tests as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	ensureDocker(ctx, t)
	return ctx
}

// ensureDocker makes sure a Docker daemon answers (lab.EnsureDocker), clears what
// killed test runs left in it and, when the test had to start one, stops it when the
// test ends.
func ensureDocker(ctx context.Context, t *testing.T) {
	t.Helper()
	stop, err := lab.EnsureDocker(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clearStaleProjects(ctx)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
}

// TestKilledRunsProjectsAreCleared leaves what a killed run of the Compose tests leaves,
// a project named for a process that is gone (a container with a restart policy, its
// network on the file's subnet, a volume), beside one of a live process, and checks
// that the next ensureDocker removes the first and keeps the second.
func TestKilledRunsProjectsAreCleared(t *testing.T) {
	ctx := rootWithDocker(t, 3*time.Minute)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	empty := exec.CommandContext(ctx, "docker", "import", "-", "dctest-empty:local")
	empty.Stdin = strings.NewReader(strings.Repeat("\x00", 1024)) // an empty tar archive
	if out, err := empty.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", "dctest-empty:local").Run() })
	stale := fmt.Sprintf("%s%d", projectTag, gone.Process.Pid)
	live := fmt.Sprintf("%s%d", projectTag, os.Getpid())
	t.Cleanup(func() { removeProject(context.Background(), stale); removeProject(context.Background(), live) })
	for _, p := range []string{stale, live} {
		label := "com.docker.compose.project=" + p
		subnet := "10.211.0.0/24"
		if p == live {
			subnet = "10.211.1.0/24"
		}
		docker("network", "create", "--label", label, "--subnet", subnet, p+"_dockercoins")
		docker("volume", "create", "--label", label, p+"_data")
		docker("container", "create", "--label", label, "--restart", "unless-stopped", "--network", p+"_dockercoins", "dctest-empty:local", "/none")
	}
	ensureDocker(ctx, t)
	for _, ls := range projectKinds {
		for _, p := range []string{stale, live} {
			n := len(strings.Fields(docker(append(ls, "-q", "--filter", "label=com.docker.compose.project="+p)...)))
			if p == stale && n != 0 {
				t.Errorf("%d %s of the killed run's project %s left", n, ls[0], p)
			}
			if p == live && n != 1 {
				t.Errorf("the live run's project %s has %d %s, want 1", p, n, ls[0])
			}
		}
	}
}

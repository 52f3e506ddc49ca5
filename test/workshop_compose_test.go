package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// TestWorkshopOnCompose runs docker-compose.yml on a real Docker Engine with Debian's
// docker-compose (Compose v1, the workshop's own command) and replays the workshop's
// slides on it, in one stack run: `docker-compose up -d`, `ps`, `logs --tail 10`,
// `up -d --scale worker=2`, then `=10`, httping on rng and hasher, `down`.
//
// There is no registry here, so lab.BuildImages makes every image the file names,
// locally and cached under ~/.cache/dockercoins/images: the four app images from their
// own Dockerfiles, on stand-ins for golang:1.26.8-bookworm (this machine's Go
// toolchain, with dash as /bin/sh) and gcr.io/distroless/static-debian12:nonroot
// (scratch, CA roots, user nonroot); redis:7.0.15-alpine is Debian's Redis 7.0.15,
// hashicorp/consul:1.21.0 and jaegertracing/jaeger:2.13.0 the pinned binaries the Nomad
// stacks run. The project has a name of its own and free host ports.
func TestWorkshopOnCompose(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the Docker Engine needs root: run the tests as root")
	}
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatal("docker-compose not found: make deps installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	ensureDocker(ctx, t)
	tools := testbed.Tools(t)
	start := time.Now()
	var built bytes.Buffer
	if err := lab.BuildImages(ctx, testbed.Root(), lab.ImageCacheDir(), tools, &built); err != nil {
		t.Fatal(err)
	}
	t.Logf("images ready in %.1fs:\n%s", time.Since(start).Seconds(), built.String())

	c := newCompose(t)
	start = time.Now()
	c.run(ctx, "up", "-d")
	c.waitHealthy(ctx, 1)
	c.run(ctx, "ps")
	c.checkConsulDNS(ctx, 1)
	secrets := c.readSecrets(ctx)
	c.checkSecurity(ctx, secrets)
	speed1 := c.speed(ctx)
	t.Logf("1 worker: %.2f hashes/s", speed1)
	if speed1 < 3.33*0.95 || speed1 > 3.33*1.05 {
		t.Errorf("1 worker mines %.2f hashes/s, want 3.33 within 5%%", speed1)
	}
	c.checkJaeger(ctx)
	logs := c.run(ctx, "logs", "--tail", "10")
	for _, want := range []string{"units of work done, updating hash counter", `"path":"/32"`, `"method":"POST"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("`docker-compose logs --tail 10` shows no %q", want)
		}
	}

	c.run(ctx, "up", "-d", "--scale", "worker=2")
	c.waitHealthy(ctx, 2)
	speed2 := c.speed(ctx)
	t.Logf("2 workers: %.2f hashes/s (x%.2f)", speed2, speed2/speed1)
	if r := speed2 / speed1; r < 1.8 || r > 2.2 {
		t.Errorf("2 workers mine %.1fx what 1 does, the slides say x2", r)
	}
	if second := c.run(ctx, "logs", "--tail", "10", "worker"); !regexp.MustCompile(`worker_2 .*units of work done`).MatchString(second) {
		t.Errorf("the second worker's lines are not in `docker-compose logs worker`")
	}

	c.run(ctx, "up", "-d", "--scale", "worker=10")
	c.waitHealthy(ctx, 10)
	c.checkConsulDNS(ctx, 10)
	speed10 := c.speed(ctx)
	t.Logf("10 workers: %.2f hashes/s (x%.2f)", speed10, speed10/speed1)
	if speed10 < 10*0.95 || speed10 > 10*1.05 {
		t.Errorf("10 workers mine %.2f hashes/s, want 10 (rng's ceiling) within 5%%", speed10)
	}
	if r := speed10 / speed1; r < 2.5 || r > 3.5 {
		t.Errorf("10 workers mine %.1fx what 1 does, the slides say about x3, not x10", r)
	}

	rng := httping(ctx, t, fmt.Sprintf("http://127.0.0.1:%d/", c.ports["RNG_PORT"]))
	hasher := httping(ctx, t, fmt.Sprintf("http://127.0.0.1:%d/", c.ports["HASHER_PORT"]))
	health := httping(ctx, t, fmt.Sprintf("http://127.0.0.1:%d%s", c.ports["RNG_PORT"], dockercoins.HealthPath))
	t.Logf("httping -c 10 under 10 workers: rng / %.1f ms, hasher / %.1f ms, rng %s %.1f ms", rng, hasher, dockercoins.HealthPath, health)
	if rng < 5*hasher {
		t.Errorf("rng's / answers in %.1f ms, hasher's in %.1f ms: the slides say rng is much slower", rng, hasher)
	}
	if health*5 > rng {
		t.Errorf("rng's health path took %.1f ms, its / %.1f ms: a health check must not queue", health, rng)
	}
	t.Logf("up to here: %.0fs", time.Since(start).Seconds())

	loops, flushed := c.down(ctx)
	hashes := c.hashesInVolume(ctx)
	t.Logf("down: the workers completed %d loops, flushed %d; Redis holds %d hashes", loops, flushed, hashes)
	if hashes != loops || flushed != loops {
		t.Errorf("Redis holds %d hashes, the workers completed %d loops and flushed %d: want all equal", hashes, loops, flushed)
	}

	// The secrets are in volumes: they outlive `down`, and `up` starts again on them.
	start2 := time.Now()
	c.run(ctx, "up", "-d")
	c.waitHealthy(ctx, 1)
	t.Logf("up again: healthy in %.0fs", time.Since(start2).Seconds())
	if again := c.readSecrets(ctx); !reflect.DeepEqual(again, secrets) {
		t.Errorf("after down and up the secrets are not the ones kept before")
	} else {
		t.Log("after down and up: the same Redis password, operator token and service tokens")
	}
	c.checkSecurity(ctx, secrets)
	webui := fmt.Sprintf("http://127.0.0.1:%d/json", c.ports["WEBUI_PORT"])
	testbed.Eventually(t, 90*time.Second, "the count to grow past %d", func() bool { return webuiHashes(t, webui) > hashes }, hashes)
	t.Logf("the worker mines on the kept password: %d hashes, %d before", webuiHashes(t, webui), hashes)
	c.run(ctx, "down")
	c.checkNothingLeft(ctx)
	t.Logf("compose run: %.0fs", time.Since(start).Seconds())
}

// compose runs docker-compose on the repository's docker-compose.yml as a project of
// the test's own, its published ports free ones.
type compose struct {
	t       *testing.T
	project string
	ports   map[string]int
}

func newCompose(t *testing.T) *compose {
	c := &compose{t: t, project: fmt.Sprintf("%s%d", projectTag, os.Getpid()), ports: map[string]int{}}
	vars := []string{"WEBUI_PORT", "RNG_PORT", "HASHER_PORT", "CONSUL_PORT", "CONSUL_DNS_PORT", "JAEGER_PORT"}
	for i, p := range testbed.FreePorts(t, len(vars)) {
		c.ports[vars[i]] = p
	}
	// Whatever happens, nothing of the project stays: containers, network, volume.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := c.cmd(ctx, "down", "-v", "--remove-orphans", "-t", "20").CombinedOutput()
		if err == nil {
			return
		}
		t.Errorf("docker-compose down -v: %v\n%s", err, out)
		// A daemon still creating containers Compose gave up on: remove by label.
		removeProject(ctx, c.project)
	})
	return c
}

// projectTag starts the names of the tests' Compose projects; the process id after it
// tells whose they are.
const projectTag = "dctest"

// projectKinds lists, as docker commands, what a Compose project is made of.
var projectKinds = [][]string{{"container", "ls", "-a"}, {"network", "ls"}, {"volume", "ls"}}

// removeProject removes a Compose project's containers, networks and volumes by label,
// without Compose.
func removeProject(ctx context.Context, project string) {
	label := "label=com.docker.compose.project=" + project
	for _, ls := range projectKinds {
		ids, _ := exec.CommandContext(ctx, "docker", append(ls, "-q", "--filter", label)...).Output()
		if f := strings.Fields(string(ids)); len(f) > 0 {
			exec.CommandContext(ctx, "docker", append([]string{ls[0], "rm", "-f"}, f...)...).Run()
		}
	}
}

// clearStaleProjects removes the Compose projects of test runs whose process is gone: a
// run killed mid-way leaves its containers (which restart with the daemon) and its
// network, whose fixed subnet the next run's network would overlap.
func clearStaleProjects(ctx context.Context) {
	stale := map[string]bool{}
	for _, ls := range projectKinds {
		out, _ := exec.CommandContext(ctx, "docker", append(ls, "--format", `{{.Label "com.docker.compose.project"}}`)...).Output()
		for _, project := range strings.Fields(string(out)) {
			if lab.OwnerGone(project, projectTag) {
				stale[project] = true
			}
		}
	}
	for project := range stale {
		removeProject(ctx, project)
	}
}

func (c *compose) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"-p", c.project, "--ansi", "never"}, args...)...)
	cmd.Dir = testbed.Root()
	// A busy daemon can take over a minute to create ten containers: more than
	// docker-compose's default HTTP timeout (60 s).
	cmd.Env = append(os.Environ(), "COMPOSE_HTTP_TIMEOUT=300")
	for k, v := range c.ports {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", k, v))
	}
	return cmd
}

// run runs a docker-compose command as a learner types it (without -p), printing it
// and what it printed.
func (c *compose) run(ctx context.Context, args ...string) string {
	c.t.Helper()
	start := time.Now()
	out, err := c.cmd(ctx, args...).CombinedOutput()
	c.t.Logf("$ docker-compose %s   (%.1fs)\n%s", strings.Join(args, " "), time.Since(start).Seconds(), out)
	if err != nil {
		c.t.Fatalf("docker-compose %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// containers lists the project's containers (all, or only running) by name.
func (c *compose) containers(ctx context.Context, all bool) []string {
	args := []string{"ps", "-q", "--filter", "label=com.docker.compose.project=" + c.project}
	if all {
		args = append(args, "-a")
	}
	out, err := exec.CommandContext(ctx, "docker", args...).Output()
	if err != nil {
		c.t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// waitHealthy waits until the project runs workers workers and every container with a
// health check reports healthy (Jaeger has none: running).
func (c *compose) waitHealthy(ctx context.Context, workers int) {
	c.t.Helper()
	var state string
	ok := testbed.Within(3*time.Minute, func() bool {
		ids := c.containers(ctx, false)
		out, err := exec.CommandContext(ctx, "docker", append([]string{"inspect", "-f",
			`{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}`}, ids...)...).Output()
		if err != nil {
			state = err.Error()
			return false
		}
		n, ready := 0, true
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == dockercoins.Worker {
				n++
			}
			ready = ready && len(f) == 3 && f[1] == "running" && (f[2] == "healthy" || f[2] == "none")
		}
		state = string(out)
		return ready && n == workers && len(ids) == 6+workers
	})
	if !ok {
		c.t.Fatalf("the project is not healthy with %d workers within 3 minutes:\n%s", workers, state)
	}
}

// checkConsulDNS checks that Consul's DNS, published on the host, answers for every
// app service and Redis, with workers workers, all at addresses on the project's
// network: the services find each other there, and none is given a peer's Compose name.
func (c *compose) checkConsulDNS(ctx context.Context, workers int) {
	c.t.Helper()
	want := map[string]int{dockercoins.RNG: 1, dockercoins.Hasher: 1, dockercoins.Worker: workers, dockercoins.WebUI: 1, "redis": 1}
	for svc, n := range want {
		var got []*net.SRV
		ok := testbed.Within(30*time.Second, func() bool {
			got = c.lookupSRV(ctx, svc)
			return len(got) == n
		})
		if !ok {
			c.t.Errorf("Consul DNS: %d %s instances, want %d", len(got), svc, n)
			continue
		}
		c.t.Logf("Consul DNS: %s.service.consul answers %d SRV records (%s:%d, ...)", svc, len(got), got[0].Target, got[0].Port)
	}
	for _, id := range c.containers(ctx, false) {
		out, _ := exec.CommandContext(ctx, "docker", "inspect", "-f", `{{range .Config.Env}}{{println .}}{{end}}`, id).Output()
		for _, kv := range strings.Split(string(out), "\n") {
			for _, peer := range []string{"RNG_ADDR=", "HASHER_ADDR=", "REDIS_ADDR="} {
				if strings.HasPrefix(kv, peer) && kv != peer {
					c.t.Errorf("container %s is given %s: peers must come from Consul DNS", id, kv)
				}
			}
		}
	}
}

// lookupSRV asks Consul's DNS, published on the host, for svc's SRV records, without
// a token as every DNS query is.
func (c *compose) lookupSRV(ctx context.Context, svc string) []*net.SRV {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", c.ports["CONSUL_DNS_PORT"]))
	}}
	_, got, _ := r.LookupSRV(ctx, "", "", svc+".service.consul")
	return got
}

// speed is the hashes per second of the last 20 settled seconds, from the web UI's
// per-second series (two disjoint 10-second windows), read once they are all after
// the last scale change.
func (c *compose) speed(ctx context.Context) float64 {
	c.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/json?points=11", c.ports["WEBUI_PORT"])
	time.Sleep(3*time.Second + 2*time.Second + 20*time.Second) // first loops, Settle, two windows
	code, body, err := httpGet(url)
	if err != nil || code != 200 {
		c.t.Fatalf("GET %s: %d %v %s", url, code, err, body)
	}
	var st dockercoins.Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Series) < 11 {
		c.t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return (st.Series[0] + st.Series[10]) / 2
}

// httping runs `httping -c 10` on url and returns the mean round trip in ms.
func httping(ctx context.Context, t *testing.T, url string) float64 {
	t.Helper()
	out, err := exec.CommandContext(ctx, "httping", "-c", "10", "-g", url).CombinedOutput()
	t.Logf("$ httping -c 10 %s\n%s", url, lastLinesOf(out, 3))
	if err != nil {
		t.Fatalf("httping %s: %v", url, err)
	}
	m := regexp.MustCompile(`min/avg/max[^=]*= *[0-9.]+/([0-9.]+)/`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("httping %s: no round-trip summary", url)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func lastLinesOf(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// down is `docker-compose down`, with the workers' logs followed meanwhile: it returns
// the loops the workers completed and flushed, from each one's final "stopped" line.
// It fails the test unless every worker drained within stop_grace_period (15 s).
func (c *compose) down(ctx context.Context) (loops, flushed int64) {
	c.t.Helper()
	var logs bytes.Buffer
	follow := c.cmd(ctx, "logs", "-f", "--no-color", dockercoins.Worker)
	follow.Stdout = &logs
	if err := follow.Start(); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(time.Second)
	start := time.Now()
	c.run(ctx, "down")
	took := time.Since(start)
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	go func() { <-waitCtx.Done(); follow.Process.Kill() }()
	follow.Wait()
	stopped := 0
	sc := bufio.NewScanner(&logs)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		_, js, ok := strings.Cut(line, "| ")
		if !ok || !strings.Contains(js, `"msg":"stopped"`) {
			continue
		}
		var ev struct{ Loops, Flushed, Lost int64 }
		if err := json.Unmarshal([]byte(js), &ev); err != nil {
			c.t.Errorf("worker's stopped line: %v: %s", err, js)
			continue
		}
		stopped++
		loops += ev.Loops
		flushed += ev.Flushed
		if ev.Lost > 0 {
			c.t.Errorf("a worker lost %d loops: %s", ev.Lost, line)
		}
	}
	c.t.Logf("down took %.1fs; %d workers logged their final count", took.Seconds(), stopped)
	if stopped != 10 {
		c.t.Errorf("%d of 10 workers logged a final count: the others did not drain within stop_grace_period", stopped)
	}
	return loops, flushed
}

// hashesInVolume reads the hashes counter Redis kept in the project's volume, with a
// Redis of the same image on that volume, as `docker-compose up` would start it again.
func (c *compose) hashesInVolume(ctx context.Context) int64 {
	c.t.Helper()
	name := c.project + "-redis-check"
	conf := filepath.Join(testbed.Root(), "redis", "redis.conf")
	if out, err := exec.CommandContext(ctx, "docker", "run", "-d", "--name", name, "--network", "none",
		"-v", c.project+"_redis-data:/data", "-v", conf+":/usr/local/etc/redis/redis.conf:ro",
		lab.RedisImage, "redis-server", "/usr/local/etc/redis/redis.conf", "--dir", "/data").CombinedOutput(); err != nil {
		c.t.Fatalf("redis on the volume: %v: %s", err, out)
	}
	defer exec.Command("docker", "rm", "-f", name).Run()
	var val string
	testbed.Within(30*time.Second, func() bool {
		out, err := exec.CommandContext(ctx, "docker", "exec", name, "redis-cli", "get", dockercoins.HashesKey).Output()
		val = strings.TrimSpace(string(out))
		return err == nil && !strings.Contains(val, "LOADING")
	})
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil {
		c.t.Fatalf("hashes in the volume: %q", val)
	}
	return n
}

// checkNothingLeft checks that `down` left no container or network of the project,
// then drops the volume (`down -v`) and checks it is gone.
func (c *compose) checkNothingLeft(ctx context.Context) {
	c.t.Helper()
	if ids := c.containers(ctx, true); len(ids) > 0 {
		c.t.Errorf("containers left after down: %v", ids)
	}
	label := "label=com.docker.compose.project=" + c.project
	if out, _ := exec.CommandContext(ctx, "docker", "network", "ls", "-q", "--filter", label).Output(); len(bytes.TrimSpace(out)) > 0 {
		c.t.Errorf("networks left after down: %s", out)
	}
	out, _ := exec.CommandContext(ctx, "docker", "volume", "ls", "-q", "--filter", label).Output()
	c.t.Logf("volumes after down: %s", strings.Join(strings.Fields(string(out)), " "))
	c.run(ctx, "down", "-v")
	if out, _ := exec.CommandContext(ctx, "docker", "volume", "ls", "-q", "--filter", label).Output(); len(bytes.TrimSpace(out)) > 0 {
		c.t.Errorf("volumes left after down -v: %s", out)
	} else {
		c.t.Log("down -v: no volume of the project left, the secrets and Consul's data with them")
	}
}

// checkJaeger checks that Jaeger, on its published port, has the worker's traces, and
// that it runs as the official image's user, not root.
func (c *compose) checkJaeger(ctx context.Context) {
	c.t.Helper()
	api := fmt.Sprintf("http://127.0.0.1:%d/api/services", c.ports["JAEGER_PORT"])
	testbed.Eventually(c.t, 60*time.Second, "the worker's traces at %s", func() bool {
		code, body, err := httpGet(api)
		return err == nil && code == 200 && strings.Contains(body, `"worker"`)
	}, api)
	top := c.run(ctx, "top", "jaeger")
	for _, line := range strings.Split(top, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.Contains(line, "jaeger-linux") && f[0] != "10001" {
			c.t.Errorf("jaeger runs as %s, not uid 10001: %s", f[0], line)
		}
	}
	if !strings.Contains(top, "jaeger-linux") {
		c.t.Errorf("docker-compose top jaeger shows no Jaeger process:\n%s", top)
	}
}

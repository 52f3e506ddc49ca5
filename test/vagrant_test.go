package test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// vagrantValidate runs `vagrant validate --ignore-provider` on the repo's Vagrantfile,
// which evaluates it for real without a hypervisor.
func vagrantValidate(t *testing.T, env ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Fatal("vagrant not found: install it (apt-get install vagrant)")
	}
	cmd := exec.Command("vagrant", "validate", "--ignore-provider")
	cmd.Dir = testbed.Root()
	cmd.Env = append(os.Environ(), append([]string{"VAGRANT_HOME=" + t.TempDir(), "VAGRANT_CHECKPOINT_DISABLE=1"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestVagrantfileValidates(t *testing.T) {
	for _, nodes := range []string{"3", "5"} {
		out, err := vagrantValidate(t, "LAB_NODES="+nodes)
		if err != nil || !strings.Contains(out, "validated successfully") {
			t.Fatalf("LAB_NODES=%s: %v\n%s", nodes, err, out)
		}
		if !strings.Contains(out, "node"+nodes) {
			t.Errorf("LAB_NODES=%s did not define node%s:\n%s", nodes, nodes, out)
		}
	}
	if out, err := vagrantValidate(t, "LAB_NODES=0"); err == nil {
		t.Fatalf("a lab of 0 nodes validated:\n%s", out)
	}
}

// The VMs are provisioned by the same node script `make cluster` runs.
func TestVagrantProvisioningUsesTheClusterScripts(t *testing.T) {
	root := testbed.Root()
	vf, _ := os.ReadFile(root + "/Vagrantfile")
	if !strings.Contains(string(vf), "lab/provision/vagrant.sh") {
		t.Fatal("Vagrantfile does not provision with lab/provision/vagrant.sh")
	}
	script, err := os.ReadFile(root + "/lab/provision/vagrant.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), `lab/provision/node.sh"`) {
		t.Fatal("vagrant.sh does not hand over to lab/provision/node.sh")
	}
	if out, err := exec.Command("bash", "-n", root+"/lab/provision/vagrant.sh").CombinedOutput(); err != nil {
		t.Fatalf("vagrant.sh does not parse: %v\n%s", err, out)
	}
}

// vagrantLabSubnet is the docker network the test's lab gets: apart from the netns
// clusters (10.199.0.0/16) and Docker's own pools.
const vagrantLabSubnet = "10.198.1"

// TestVagrantDockerLab boots the Vagrant lab as a user does, `vagrant up
// --provider=docker` with LAB_NODES=3 on the node image built here (lab.BuildNodeImage),
// checks that its ACLs keep an anonymous caller out of Consul and Nomad while DNS still
// answers, writes the jobs' secrets with `dockercoins secrets`, runs the jobs on it,
// scales the workers from node1 as the README does and destroys it. Vagrant keeps its
// state, the lab's secrets among it, in temporary folders, not ~/.vagrant.d or the
// repository's .vagrant.
func TestVagrantDockerLab(t *testing.T) {
	for _, tool := range []string{"vagrant", "docker", "debootstrap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: make deps", tool)
		}
	}
	start := time.Now()
	root := testbed.Root()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ensureDocker(ctx, t)
	var out bytes.Buffer
	if err := lab.BuildNodeImage(ctx, lab.DefaultNodeImageOptions(), &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("node image: %s", strings.TrimSpace(out.String()))
	// The nodes run the binaries of the repository's bin/ (/vagrant/bin), and node1 sets
	// up the ACLs with bin/lab/dockercoins, as after `make build`.
	for _, b := range [][]string{{"-o", "bin/", "./cmd/rng", "./cmd/hasher", "./cmd/worker", "./cmd/webui"},
		{"-o", "bin/lab/", "./cmd/dockercoins"}} {
		build := exec.CommandContext(ctx, "go", append([]string{"build"}, b...)...)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", b, err, out)
		}
	}

	dotfile := t.TempDir()
	env := append(os.Environ(), "VAGRANT_HOME="+t.TempDir(), "VAGRANT_DOTFILE_PATH="+dotfile,
		"VAGRANT_CHECKPOINT_DISABLE=1", "LAB_NODES=3", "LAB_SUBNET="+vagrantLabSubnet,
		"LAB_TOOLS="+filepath.Dir(testbed.Tool(t, "nomad")))
	// The test's own NOMAD_ADDR, CONSUL_HTTP_ADDR or LAB_SECRETS must not steer the
	// commands the README gives: they find the lab by LAB_SUBNET and VAGRANT_DOTFILE_PATH.
	env = slices.DeleteFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "NOMAD_") || strings.HasPrefix(kv, "CONSUL_HTTP_") || strings.HasPrefix(kv, "LAB_SECRETS=")
	})
	command := func(ctx context.Context, name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = root, env
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	vagrant := func(ctx context.Context, args ...string) (string, error) { return command(ctx, "vagrant", args...) }
	secretsFile := filepath.Join(dotfile, lab.VagrantSecretsName)
	network := "vagrant_network_" + vagrantLabSubnet + ".0/24"
	t.Cleanup(func() {
		// Its own time: the test's context may have ended with a failure.
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer dcancel()
		t0 := time.Now()
		if b, err := vagrant(dctx, "destroy", "-f"); err != nil {
			t.Errorf("vagrant destroy: %v\n%s", err, b)
		}
		t.Logf("vagrant destroy -f: %.0fs", time.Since(t0).Seconds())
		checkNothingLeft(t, root, network)
		if _, err := os.Stat(secretsFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the lab's secrets outlive its last node: %s (%v)", secretsFile, err)
		} else {
			t.Logf("%s: removed with the last node", secretsFile)
		}
		t.Logf("whole test: %.0fs", time.Since(start).Seconds())
	})

	t0 := time.Now()
	upOut, err := vagrant(ctx, "up", "--provider=docker")
	if err != nil {
		t.Fatalf("vagrant up: %v\n%s", err, upOut)
	}
	t.Logf("vagrant up --provider=docker, 3 nodes: %.0fs", time.Since(t0).Seconds())

	sec := vagrantSecrets(t, root, secretsFile)
	noSecretIn(t, "vagrant up's output", upOut, sec)
	server := vagrantLabSubnet + ".11"
	cc := consulClient(t, server+":8500", sec.ConsulManagement)
	alive := 0
	testbed.Eventually(t, 90*time.Second, "3 alive Consul members", func() bool {
		members, _ := cc.Agent().Members(false)
		alive = 0
		for _, m := range members {
			if m.Status == 1 {
				alive++
			}
		}
		return alive == 3
	})
	// Each agent registers its node in the catalog with the agent token it was given
	// before node1 made it.
	testbed.Eventually(t, 90*time.Second, "3 nodes in Consul's catalog", func() bool {
		nodes, _, err := cc.Catalog().Nodes(nil)
		return err == nil && len(nodes) == 3
	})
	t.Log("Consul: 3 alive members, 3 nodes in the catalog (with the management token)")

	c, err := nomad.New("http://" + server + ":4646")
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(sec.NomadManagement)
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	nodes, err := c.WaitNodes(wctx, 3)
	wcancel()
	if err != nil {
		t.Fatalf("3 ready Nomad nodes: %v", err)
	}
	t.Logf("Nomad nodes (with the management token): %v", nodes)

	t.Run("node secrets", func(t *testing.T) { checkNodeSecrets(t, vagrant, ctx) })
	t.Run("anonymous", func(t *testing.T) { checkVagrantAnonymous(t, server, sec) })

	// As the README's steps: the jobs' secrets (Nomad variables) from the host, then the
	// jobs with raw_exec, the driver the containers' clients offer.
	secretsOut, err := command(ctx, filepath.Join(root, "bin", "lab", "dockercoins"), "secrets")
	if err != nil {
		t.Fatalf("dockercoins secrets: %v\n%s", err, secretsOut)
	}
	t.Logf("dockercoins secrets: %s", strings.TrimSpace(secretsOut))
	noSecretIn(t, "dockercoins secrets' output", secretsOut, sec)
	checkVagrantVariables(t, c, sec)
	jobs := vagrantfileStep(t, root, "nomad job run")
	if b, err := vagrant(ctx, "ssh", "node1", "-c", jobs); err != nil {
		t.Fatalf("vagrant ssh node1 -c '%s': %v\n%s", jobs, err, b)
	}
	t.Logf("the Vagrantfile's step, vagrant ssh node1 -c '%s': done", jobs)
	r := redisOf(t, c)
	waitHashesRise(t, r, 0, 60*time.Second)
	before := speed(t, r, 15*time.Second)
	t.Run("dns", func(t *testing.T) {
		// Anonymous, as every worker asks: node1's Consul DNS on the node's address.
		for _, svc := range []string{"rng", "hasher", "redis"} {
			var got []string
			testbed.Eventually(t, 30*time.Second, "an SRV answer for "+svc, func() bool {
				got, err = srv(server+":8600", svc)
				return err == nil && len(got) > 0
			})
			t.Logf("dig @%s -p 8600 %s.service.consul SRV (no token): %v", server, svc, got)
		}
	})

	// The Vagrantfile's step on node1, to 6 workers: the operator's token from its
	// root-only file, the address from the login shell's profile.
	scale := vagrantfileStep(t, root, "nomad job scale dockercoins worker 10")
	scale = strings.Replace(scale, "worker 10", "worker 6", 1)
	if b, err := vagrant(ctx, "ssh", "node1", "-c", scale); err != nil {
		t.Fatalf("vagrant ssh node1 -c '%s': %v\n%s", scale, err, b)
	}
	t.Logf("vagrant ssh node1 -c '%s': done", scale)
	workers := waitRunning(t, c, "worker", 6)
	if on := nodesOf(workers); len(on) != 3 {
		t.Errorf("6 workers run on %v, want all 3 nodes", on)
	}
	time.Sleep(5 * time.Second) // the new workers' first flushes
	after := speed(t, r, 15*time.Second)
	t.Logf("speed: %.2f hashes/s with 1 worker, %.2f with 6", before, after)
	if after < 2*before {
		t.Errorf("speed rose from %.2f to only %.2f hashes/s with 6 workers", before, after)
	}
	checkNoSecretIn(t, root, sec)
}

// vagrantfileStep is the command of the Vagrantfile's header comment that runs on node1
// (`vagrant ssh node1 -c '<command>'`) and holds what: the test runs the steps as
// written there.
func vagrantfileStep(t *testing.T, root, what string) string {
	t.Helper()
	vf, err := os.ReadFile(filepath.Join(root, "Vagrantfile"))
	if err != nil {
		t.Fatal(err)
	}
	const ssh = "vagrant ssh node1 -c '"
	for _, line := range strings.Split(string(vf), "\n") {
		if !strings.HasPrefix(line, "#") {
			break // the header ends
		}
		if _, cmd, ok := strings.Cut(line, ssh); ok && strings.Contains(cmd, what) && strings.HasSuffix(cmd, "'") {
			return strings.TrimSuffix(cmd, "'")
		}
	}
	t.Fatalf("the Vagrantfile's header has no step %s%s...'", ssh, what)
	return ""
}

// vagrantSecrets reads the lab's secrets file the Vagrantfile made, which must be the
// owner's alone and hold four distinct secrets.
func vagrantSecrets(t *testing.T, root, file string) lab.VagrantSecrets {
	t.Helper()
	st, err := os.Stat(file)
	if err != nil {
		t.Fatalf("the lab's secrets: %v", err)
	}
	t.Logf("%s: mode %v", file, st.Mode().Perm())
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, st.Mode().Perm())
	}
	sec, err := lab.ReadVagrantSecrets(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := sec.Need("consul_management", "consul_agent", "nomad_consul", "nomad_management"); err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{sec.ConsulManagement: true, sec.ConsulAgent: true, sec.NomadConsul: true, sec.NomadManagement: true}
	if len(distinct) != 4 {
		t.Errorf("the lab's four secrets are not distinct")
	}
	if _, err := os.Stat(filepath.Join(root, ".vagrant", lab.VagrantSecretsName)); err == nil {
		t.Errorf("a secrets file in the repository's .vagrant, not in VAGRANT_DOTFILE_PATH")
	}
	return sec
}

// checkNodeSecrets looks at what each node holds: root's file, node1 with the four
// secrets and its operator's token files, the other nodes with only their agents'.
func checkNodeSecrets(t *testing.T, vagrant func(context.Context, ...string) (string, error), ctx context.Context) {
	want := map[string]string{
		"node1": "consul_agent nomad_consul consul_management nomad_management",
		"node2": "consul_agent nomad_consul",
		"node3": "consul_agent nomad_consul",
	}
	// The names of the lines only, never a value.
	look := `echo "mode: $(sudo stat -c '%U %a' /etc/dockercoins-lab/acl.secrets)"; ` +
		`echo "names: $(sudo cut -d= -f1 /etc/dockercoins-lab/acl.secrets | xargs)"; ` +
		`echo "files: $(sudo ls /etc/dockercoins-lab | xargs)"`
	for _, node := range []string{"node1", "node2", "node3"} {
		b, err := vagrant(ctx, "ssh", node, "-c", look)
		if err != nil {
			t.Fatalf("%s: %v\n%s", node, err, b)
		}
		got := map[string]string{}
		for _, line := range strings.Split(b, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
				got[k] = v
			}
		}
		t.Logf("%s: /etc/dockercoins-lab/acl.secrets: %s, secrets %s; the folder holds %s", node, got["mode"], got["names"], got["files"])
		if got["mode"] != "root 600" || got["names"] != want[node] {
			t.Errorf("%s holds %q (%s), want %q (root 600)", node, got["names"], got["mode"], want[node])
		}
		tokens := strings.Contains(got["files"], "nomad-management.token") && strings.Contains(got["files"], "consul-management.token")
		if tokens != (node == "node1") {
			t.Errorf("%s: the operator's token files there: %v, want them on node1 only", node, tokens)
		}
	}
}

// checkVagrantAnonymous tries what anyone who reaches node1's ports would, without a
// token, then the same with the management tokens.
func checkVagrantAnonymous(t *testing.T, server string, sec lab.VagrantSecrets) {
	consul, nomadAddr := "http://"+server+":8500/v1/", "http://"+server+":4646/v1/"
	type try struct {
		what, method, url, header string
		body                      []byte
	}
	intention := []byte(`{"Kind":"service-intentions","Name":"rng","Sources":[{"Name":"student","Action":"allow"}]}`)
	tries := []try{
		{"KV write", "PUT", consul + "kv/dockercoins-test", "X-Consul-Token", []byte("x")},
		{"worker's leaf certificate", "GET", consul + "agent/connect/ca/leaf/worker", "X-Consul-Token", nil},
		{"intention write", "PUT", consul + "config", "X-Consul-Token", intention},
		{"token list", "GET", consul + "acl/tokens", "X-Consul-Token", nil},
		{"Nomad job list", "GET", nomadAddr + "jobs", "X-Nomad-Token", nil},
		{"Nomad variable read", "GET", nomadAddr + "var/nomad/jobs/redis/redis", "X-Nomad-Token", nil},
	}
	for _, tr := range tries {
		code, body := withToken(t, tr.method, tr.url, tr.header, "", tr.body)
		t.Logf("%s %s (%s) without a token: %d %s", tr.method, tr.url, tr.what, code, firstLine(body))
		if code != 403 {
			t.Errorf("%s without a token: %d, want 403", tr.what, code)
		}
	}
	// The operator's tokens read what was refused.
	for _, tr := range []try{tries[3], tries[4]} {
		token := sec.ConsulManagement
		if tr.header == "X-Nomad-Token" {
			token = sec.NomadManagement
		}
		code, body := withToken(t, tr.method, tr.url, tr.header, token, nil)
		t.Logf("%s %s (%s) with the management token: %d (%d bytes)", tr.method, tr.url, tr.what, code, len(body))
		if code != 200 {
			t.Errorf("%s with the management token: %d, want 200", tr.what, code)
		}
	}
}

// checkVagrantVariables checks what `dockercoins secrets` wrote: each service's own
// Consul token and the web UI's Nomad token, none of them a management token.
func checkVagrantVariables(t *testing.T, c *nomad.Client, sec lab.VagrantSecrets) {
	t.Helper()
	seen := map[string]string{}
	for _, svc := range []string{"rng", "hasher", "worker", "webui"} {
		v, _, err := c.API().Variables().Read("nomad/jobs/dockercoins/"+svc, nil)
		if err != nil {
			t.Fatalf("variable of %s: %v", svc, err)
		}
		token := v.Items["consul_token"]
		if token == "" || token == sec.ConsulManagement || seen[token] != "" {
			t.Errorf("%s's Consul token is empty, the management token or %s's", svc, seen[token])
		}
		seen[token] = svc
		if svc == "webui" {
			if nt := v.Items["nomad_token"]; nt == "" || nt == sec.NomadManagement {
				t.Errorf("the web UI's Nomad token is empty or the management token")
			}
		}
	}
	t.Logf("Nomad variables: rng, hasher, worker, webui each hold a Consul token of their own; webui a Nomad token")
}

// noSecretIn fails if out, what a command printed, holds one of the lab's secrets.
func noSecretIn(t *testing.T, what, out string, sec lab.VagrantSecrets) {
	t.Helper()
	for _, s := range labSecrets(sec) {
		if strings.Contains(out, s) {
			t.Errorf("%s shows one of the lab's secrets", what)
			return
		}
	}
	t.Logf("%s (%d lines): no secret", what, strings.Count(out, "\n"))
}

// checkNoSecretIn fails if any file of the repository's working tree holds one of the
// lab's secrets.
func checkNoSecretIn(t *testing.T, root string, sec lab.VagrantSecrets) {
	t.Helper()
	files, err := testbed.TreeFiles(root, func(rel string, b []byte) {
		for _, s := range labSecrets(sec) {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds one of the lab's secrets", filepath.Join(root, rel))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("no secret of the lab in the %d files of the working tree", files)
}

// labSecrets are the lab's four secrets.
func labSecrets(sec lab.VagrantSecrets) []string {
	return []string{sec.ConsulManagement, sec.ConsulAgent, sec.NomadConsul, sec.NomadManagement}
}

// checkNothingLeft fails the test if a container of the lab or its network is left,
// or the cached node image is gone.
func checkNothingLeft(t *testing.T, root, network string) {
	t.Helper()
	docker := func(args ...string) string {
		b, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Errorf("docker %s: %v\n%s", args[0], err, b)
		}
		return strings.TrimSpace(string(b))
	}
	prefix := filepath.Base(filepath.Clean(root)) + "_node"
	if left := docker("ps", "-a", "--filter", "name=^"+prefix, "--format", "{{.Names}}"); left != "" {
		t.Errorf("containers left after vagrant destroy: %s", left)
	}
	if left := docker("network", "ls", "--filter", "name="+network, "--format", "{{.Name}}"); left != "" {
		t.Errorf("network left after vagrant destroy: %s", left)
	}
	if id := docker("image", "ls", "-q", lab.NodeImage); id == "" {
		t.Errorf("the node image %s is gone", lab.NodeImage)
	}
}

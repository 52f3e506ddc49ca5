package test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
	consulapi "github.com/hashicorp/consul/api"
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
// runs the jobs on it, scales the workers and destroys it. Vagrant keeps its state in
// temporary folders, not ~/.vagrant.d or the repository's .vagrant.
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
	// The nodes run the binaries of the repository's bin/ (/vagrant/bin), as after
	// `make build`.
	build := exec.CommandContext(ctx, "go", "build", "-o", "bin/", "./cmd/rng", "./cmd/hasher", "./cmd/worker", "./cmd/webui")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}

	env := append(os.Environ(), "VAGRANT_HOME="+t.TempDir(), "VAGRANT_DOTFILE_PATH="+t.TempDir(),
		"VAGRANT_CHECKPOINT_DISABLE=1", "LAB_NODES=3", "LAB_SUBNET="+vagrantLabSubnet,
		"LAB_TOOLS="+filepath.Dir(testbed.Tool(t, "nomad")))
	vagrant := func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "vagrant", args...)
		cmd.Dir, cmd.Env = root, env
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
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
		t.Logf("whole test: %.0fs", time.Since(start).Seconds())
	})

	t0 := time.Now()
	if b, err := vagrant(ctx, "up", "--provider=docker"); err != nil {
		t.Fatalf("vagrant up: %v\n%s", err, b)
	}
	t.Logf("vagrant up --provider=docker, 3 nodes: %.0fs", time.Since(t0).Seconds())

	server := vagrantLabSubnet + ".11"
	cc, err := consulapi.NewClient(&consulapi.Config{Address: server + ":8500"})
	if err != nil {
		t.Fatal(err)
	}
	var members []*consulapi.AgentMember
	testbed.Eventually(t, 90*time.Second, "3 alive Consul members, got %d", func() bool {
		members, _ = cc.Agent().Members(false)
		alive := 0
		for _, m := range members {
			if m.Status == 1 {
				alive++
			}
		}
		return alive == 3
	}, len(members))

	c, err := nomad.New("http://" + server + ":4646")
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	nodes, err := c.WaitNodes(wctx, 3)
	wcancel()
	if err != nil {
		t.Fatalf("3 ready Nomad nodes: %v", err)
	}
	t.Logf("Nomad nodes: %v", nodes)

	// As the README's steps: the stack's secrets (Nomad variables), then the jobs with
	// raw_exec, the driver the containers' clients offer.
	if err := lab.WriteSecrets(ctx, &lab.Stack{Nomad: c}); err != nil {
		t.Fatal(err)
	}
	run(t, c, "redis.nomad.hcl", redisVars(t, "driver", "raw_exec"), nil)
	run(t, c, "dockercoins.nomad.hcl", nomad.Vars{"bin_dir": "/vagrant/bin", "driver": "raw_exec"}, nil)
	r := redisOf(t, c)
	waitHashesRise(t, r, 0, 60*time.Second)
	before := speed(t, r, 15*time.Second)

	nomadCLI := exec.CommandContext(ctx, testbed.Tool(t, "nomad"), "job", "scale", "dockercoins", "worker", "6")
	nomadCLI.Env = append(os.Environ(), "NOMAD_ADDR=http://"+server+":4646")
	if b, err := nomadCLI.CombinedOutput(); err != nil {
		t.Fatalf("nomad job scale dockercoins worker 6: %v\n%s", err, b)
	}
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

package test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

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
	if !strings.Contains(string(script), `"$here/node.sh"`) {
		t.Fatal("vagrant.sh does not hand over to lab/provision/node.sh")
	}
	if out, err := exec.Command("bash", "-n", root+"/lab/provision/vagrant.sh").CombinedOutput(); err != nil {
		t.Fatalf("vagrant.sh does not parse: %v\n%s", err, out)
	}
}

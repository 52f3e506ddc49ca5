package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	uuidA = "0f8e3a52-6c1d-4b7e-9a2f-3d5c7e9b1a24"
	uuidB = "7a1c9e3f-2b4d-4f6a-8c0e-1d3f5a7b9c2e"
)

func TestParseVagrantSecrets(t *testing.T) {
	in := "# made by the Vagrantfile\n\nconsul_management=" + uuidA + "\n  consul_agent=" + uuidB + "  \n" +
		"nomad_consul=" + uuidA + "\nnomad_management=" + uuidB + "\n"
	s, err := ParseVagrantSecrets(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := VagrantSecrets{ConsulManagement: uuidA, ConsulAgent: uuidB, NomadConsul: uuidA, NomadManagement: uuidB}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if err := s.Need("consul_management", "nomad_management"); err != nil {
		t.Error(err)
	}
}

// A node's file holds only its share: what it lacks is "", and Need names it.
func TestVagrantSecretsNeed(t *testing.T) {
	s, err := ParseVagrantSecrets(strings.NewReader("consul_agent=" + uuidA + "\nnomad_consul=" + uuidB + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.ConsulManagement != "" || s.NomadManagement != "" {
		t.Fatalf("a client's file gave management tokens: %+v", s)
	}
	err = s.Need("consul_agent", "consul_management", "nomad_management")
	if err == nil || err.Error() != "no consul_management, nomad_management" {
		t.Fatalf("Need: %v", err)
	}
	if err := s.Need("no_such_secret"); err == nil {
		t.Error("Need accepted an unknown name")
	}
}

// Bad files are errors naming the line, and never echo a value.
func TestParseVagrantSecretsRejects(t *testing.T) {
	const secretish = "9b2d4f6a-8c0e-4d3f-a5b7-c9e1f3a5b7d9-extra"
	for in, want := range map[string]string{
		"consul_agent " + uuidA:                                  "line 1: want name=value",
		"consul_agent=" + uuidA + "\nconsul_agent=" + uuidB:      "line 2: consul_agent given twice",
		"vault_token=" + uuidA:                                   `line 1: unknown secret "vault_token"`,
		"consul_agent=":                                          "line 1: consul_agent is not a UUID",
		"consul_agent=" + secretish:                              "line 1: consul_agent is not a UUID",
		"consul_agent=" + strings.ToUpper(uuidA):                 "line 1: consul_agent is not a UUID",
		"consul_agent=\"" + uuidA + "\"":                         "line 1: consul_agent is not a UUID",
		"# c\nnomad_consul=" + uuidA + "\n=" + uuidB:             `line 3: unknown secret ""`,
		"consul_agent=" + uuidA + "\"\n}\nacl { enabled=false }": "line 1: consul_agent is not a UUID",
	} {
		_, err := ParseVagrantSecrets(strings.NewReader(in))
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), uuidA) || strings.Contains(err.Error(), secretish)) {
			t.Errorf("%q: the error shows a secret: %v", in, err)
		}
	}
}

func TestReadVagrantSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, VagrantSecretsName)
	if _, err := ReadVagrantSecrets(file); err == nil || !strings.Contains(err.Error(), "vagrant up makes them") {
		t.Errorf("no file: %v", err)
	}
	if err := os.WriteFile(file, []byte("consul_agent="+uuidA+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVagrantSecrets(file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a file others may read: %v", err)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ReadVagrantSecrets(file)
	if err != nil || s.ConsulAgent != uuidA {
		t.Errorf("got %+v, %v", s, err)
	}
	if err := os.WriteFile(file, []byte("consul_agent=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVagrantSecrets(file); err == nil || !strings.HasPrefix(err.Error(), file+": line 1") {
		t.Errorf("a bad file: %v", err)
	}
}

func TestVagrantSecretsFile(t *testing.T) {
	if got := VagrantSecretsFile(""); got != filepath.Join(".vagrant", VagrantSecretsName) {
		t.Errorf("default: %s", got)
	}
	if got := VagrantSecretsFile("/tmp/lab"); got != "/tmp/lab/"+VagrantSecretsName {
		t.Errorf("VAGRANT_DOTFILE_PATH=/tmp/lab: %s", got)
	}
}

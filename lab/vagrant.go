package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/dockercoins/dockercoins/nomad"
)

// VagrantSecretsName is the file, in Vagrant's folder of the lab (VAGRANT_DOTFILE_PATH,
// default .vagrant), where the Vagrantfile keeps the lab's ACL secrets (mode 0600),
// made at the lab's first provisioning. Each node gets the lines it needs, in the same
// format, as /etc/dockercoins-lab/acl.secrets.
const VagrantSecretsName = "dockercoins-lab.secrets"

// VagrantSecretsFile is where the Vagrantfile keeps the lab's secrets: dotfile is
// VAGRANT_DOTFILE_PATH ("": .vagrant, Vagrant's default, in the working directory).
func VagrantSecretsFile(dotfile string) string {
	if dotfile == "" {
		dotfile = ".vagrant"
	}
	return filepath.Join(dotfile, VagrantSecretsName)
}

// VagrantSecrets are the ACL secrets of one Vagrant lab, each a UUID chosen on the host
// before the nodes start, so that the agents' configs can hold them from the start and
// no secret has to travel back from a node:
//
//	consul_management  Consul's initial_management token (the server bootstraps its
//	                   ACLs with it): the operator's CONSUL_HTTP_TOKEN; node1 only
//	consul_agent       every Consul agent's token (acl.tokens.agent)
//	nomad_consul       every Nomad agent's Consul token (consul.token)
//	nomad_management   Nomad's bootstrap token: the operator's NOMAD_TOKEN; node1 only
//
// A file holds one name=value per line; blank lines and lines starting with # are
// skipped. A node's file has only the lines it needs.
type VagrantSecrets struct {
	ConsulManagement string
	ConsulAgent      string
	NomadConsul      string
	NomadManagement  string
}

// fields names each secret as the file does.
func (s *VagrantSecrets) fields() map[string]*string {
	return map[string]*string{
		"consul_management": &s.ConsulManagement,
		"consul_agent":      &s.ConsulAgent,
		"nomad_consul":      &s.NomadConsul,
		"nomad_management":  &s.NomadManagement,
	}
}

// uuid is the form Consul and Nomad take a given secret in.
var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ParseVagrantSecrets reads a secrets file. An unknown name, a name given twice, a
// value that is not a lower-case UUID or a line that is not name=value is an error
// naming the line (never its value); a secret not in the file stays "" (see Need).
func ParseVagrantSecrets(r io.Reader) (VagrantSecrets, error) {
	var s VagrantSecrets
	fields := s.fields()
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return s, fmt.Errorf("line %d: want name=value", n)
		}
		dst, known := fields[name]
		switch {
		case !known:
			return s, fmt.Errorf("line %d: unknown secret %q", n, name)
		case seen[name]:
			return s, fmt.Errorf("line %d: %s given twice", n, name)
		case !uuid.MatchString(value):
			return s, fmt.Errorf("line %d: %s is not a UUID", n, name)
		}
		seen[name], *dst = true, value
	}
	return s, sc.Err()
}

// Need says which of the named secrets are missing, as an error ("" names none).
func (s VagrantSecrets) Need(names ...string) error {
	fields := s.fields()
	var missing []string
	for _, n := range names {
		if p, ok := fields[n]; !ok || *p == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no %s", strings.Join(missing, ", "))
	}
	return nil
}

// ReadVagrantSecrets reads and parses a secrets file, which only its owner may read.
func ReadVagrantSecrets(file string) (VagrantSecrets, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return VagrantSecrets{}, fmt.Errorf("no lab secrets at %s: vagrant up makes them (with VAGRANT_DOTFILE_PATH, under it)", file)
	}
	if err != nil {
		return VagrantSecrets{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return VagrantSecrets{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return VagrantSecrets{}, fmt.Errorf("%s: mode %v lets others read the lab's secrets: chmod 600 it", file, st.Mode().Perm())
	}
	s, err := ParseVagrantSecrets(f)
	if err != nil {
		return s, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// ConfigureVagrantConsul sets up the ACLs of the Vagrant lab's Consul at addr, whose
// server bootstraps them itself with the consul_management token of its config: it
// waits until that token works (the server has a leader), then writes the policies,
// gives the anonymous token the dns policy, and makes the agents' and Nomad's tokens
// with the secrets the nodes' configs hold already. Safe to run again.
func ConfigureVagrantConsul(ctx context.Context, addr string, s VagrantSecrets) error {
	if err := s.Need("consul_management", "consul_agent", "nomad_consul"); err != nil {
		return err
	}
	a, err := newConsulACL(addr, s.ConsulManagement)
	if err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err = poll.Until(wait, "consul at "+addr+": its ACLs bootstrapped with the lab's management token", agentPoll, func() (bool, string, error) {
		_, _, err := a.client.ACL().TokenReadSelf(nil)
		if err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	if err != nil {
		return err
	}
	if err := a.policies(); err != nil {
		return err
	}
	if _, err := a.agentToken(s.ConsulAgent); err != nil {
		return err
	}
	_, err = a.nomadToken(s.NomadConsul)
	return err
}

// WriteVagrantTokens writes the token configs of one Vagrant lab node from its secrets,
// beside the agent configs node.sh renders into dir (mode 0600, root's alone: the
// agents run as root, the tasks do not): consul.d/tokens.hcl, the Consul agent's token
// and, on the server, initial_management, with which Consul bootstraps its ACLs by
// itself; nomad.d/consul-token.hcl, Nomad's Consul token.
func WriteVagrantTokens(dir string, s VagrantSecrets, server bool) error {
	need := []string{"consul_agent", "nomad_consul"}
	if server {
		need = append(need, "consul_management")
	}
	if err := s.Need(need...); err != nil {
		return err
	}
	initial := ""
	if server {
		initial = fmt.Sprintf("    initial_management = %q\n", s.ConsulManagement)
	}
	conf := fmt.Sprintf("# Written by the lab's ACL setup: this agent's Consul ACL tokens.\nacl {\n  tokens {\n    agent = %q\n%s  }\n}\n", s.ConsulAgent, initial)
	if err := os.WriteFile(filepath.Join(dir, "consul.d", "tokens.hcl"), []byte(conf), 0o600); err != nil {
		return err
	}
	return writeNomadConsulConf(filepath.Join(dir, "nomad.d", "consul-token.hcl"), s.NomadConsul)
}

// VagrantStack is the Vagrant lab's servers as the host's tools hold them: Nomad at
// nomadAddr and Consul at consulAddr, with the lab's management tokens, for WriteSecrets
// and WriteWebUIToken.
func VagrantStack(nomadAddr, consulAddr string, s VagrantSecrets) (*Stack, error) {
	if err := s.Need("consul_management", "nomad_management"); err != nil {
		return nil, err
	}
	st := &Stack{NomadAddr: nomadAddr, ConsulAddr: consulAddr}
	var err error
	if st.ConsulACL, err = newConsulACL(consulAddr, s.ConsulManagement); err != nil {
		return nil, err
	}
	if st.NomadACL, err = newNomadACL(nomadAddr, s.NomadManagement); err != nil {
		return nil, err
	}
	if st.Nomad, err = nomad.New(nomadAddr); err != nil {
		return nil, err
	}
	st.Nomad.SetToken(s.NomadManagement)
	return st, nil
}

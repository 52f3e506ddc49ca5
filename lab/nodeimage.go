package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NodeImage is the image the Vagrant lab's docker provider boots each node from
// (the Vagrantfile's LAB_IMAGE default): Debian bookworm made by debootstrap on this
// machine, with sshd as its command and the vagrant user Vagrant logs in as.
const NodeImage = "dockercoins/node:local"

// nodePackages are what the node image adds to debootstrap's minbase: sshd and sudo
// for Vagrant, iproute2 (lab/provision/node.sh finds the node's interface with ip),
// procps, ca-certificates, dnsutils (dig, to ask Consul DNS) and redis-server (the
// Redis job runs Debian's).
var nodePackages = []string{
	"openssh-server", "sudo", "iproute2", "ca-certificates", "procps", "dnsutils", "redis-server",
}

// nodeImageVersion changes when the way the node image is made changes.
const nodeImageVersion = "1"

// nodeImageLabel carries the hash of what the node image was made from.
const nodeImageLabel = "org.dockercoins.node-inputs"

// nodeImageCmd makes host keys of the node's own at its first start (none are baked
// into the image, so no two nodes share one) and runs sshd in the foreground.
const nodeImageCmd = `CMD ["/bin/sh", "-c", "ssh-keygen -A && exec /usr/sbin/sshd -D -e"]`

// VagrantKeyGlobs are where Vagrant installs keep the insecure public key Vagrant logs
// in with first (then replaces with a key of the node's own): Debian's package, and
// HashiCorp's.
var VagrantKeyGlobs = []string{
	"/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub",
	"/opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub",
	"/opt/vagrant/embedded/gems/vagrant-*/keys/vagrant.pub",
}

// NodeImageOptions say where BuildNodeImage finds and keeps things.
type NodeImageOptions struct {
	// CacheDir holds the saved image (`docker save`).
	CacheDir string
	// Mirror is the Debian mirror debootstrap installs from.
	Mirror string
	// VagrantKey is the vagrant user's authorized key; empty: the first of VagrantKeyGlobs.
	VagrantKey string
}

// DefaultNodeImageOptions keep the image beside the compose images (ImageCacheDir).
func DefaultNodeImageOptions() NodeImageOptions {
	return NodeImageOptions{
		CacheDir: ImageCacheDir(),
		Mirror:   "http://deb.debian.org/debian",
	}
}

// BuildNodeImage makes NodeImage present in the Docker daemon: kept as it is when its
// label says it was made from the current inputs, else loaded from the cache, else
// built with debootstrap (root, and the Debian mirror) and saved to the cache. Progress
// goes to out.
func BuildNodeImage(ctx context.Context, opts NodeImageOptions, out io.Writer) error {
	keyFile, err := vagrantKey(opts.VagrantKey)
	if err != nil {
		return err
	}
	pub, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("the vagrant public key: %w", err)
	}
	h := sha256.New()
	fmt.Fprintln(h, nodeImageVersion, strings.Join(nodePackages, ","), nodeImageCmd)
	h.Write(pub)
	key := hex.EncodeToString(h.Sum(nil))

	if nodeImageKey(ctx) == key {
		fmt.Fprintf(out, "%s is up to date\n", NodeImage)
		return nil
	}
	saved := filepath.Join(opts.CacheDir, "dockercoins_node_local-"+key[:16]+".tar")
	if _, err := os.Stat(saved); err == nil {
		start := time.Now()
		if err := docker(ctx, nil, "load", "-q", "-i", saved); err != nil {
			return err
		}
		if nodeImageKey(ctx) == key {
			fmt.Fprintf(out, "loaded %s from %s (%.1fs)\n", NodeImage, saved, time.Since(start).Seconds())
			return nil
		}
	}
	start := time.Now()
	if err := buildNodeImage(ctx, opts, pub, key, out); err != nil {
		return fmt.Errorf("build %s: %w", NodeImage, err)
	}
	fmt.Fprintf(out, "built %s (%.0fs); saving it to %s\n", NodeImage, time.Since(start).Seconds(), saved)
	return saveImage(ctx, NodeImage, saved, filepath.Join(opts.CacheDir, "dockercoins_node_local-*.tar"))
}

// vagrantKey is the given key file, or the first installed one.
func vagrantKey(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	for _, g := range VagrantKeyGlobs {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return m[len(m)-1], nil
		}
	}
	return "", errors.New("the Vagrant insecure public key (keys/vagrant.pub of the vagrant gem) is not found: install vagrant")
}

// nodeImageKey is the inputs label of the NodeImage the daemon holds, "" if none.
func nodeImageKey(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f",
		`{{index .Config.Labels "`+nodeImageLabel+`"}}`, NodeImage).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// buildNodeImage makes the root filesystem in a temporary folder and imports it.
func buildNodeImage(ctx context.Context, opts NodeImageOptions, pub []byte, key string, out io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("debootstrap needs root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("debootstrap not found: apt-get install debootstrap")
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "dockercoins-node-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "rootfs")
	fmt.Fprintf(out, "debootstrap bookworm from %s...\n", opts.Mirror)
	if err := runTool(ctx, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(nodePackages, ","), "bookworm", root, opts.Mirror); err != nil {
		return err
	}
	if err := runTool(ctx, "chroot", root, "useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "vagrant"); err != nil {
		return err
	}
	if err := addVagrantUser(root, pub); err != nil {
		return err
	}
	// Host keys are made at each node's first start; package lists and downloaded
	// packages are only weight.
	for _, g := range []string{"etc/ssh/ssh_host_*", "var/lib/apt/lists/*", "var/cache/apt/archives/*.deb"} {
		m, _ := filepath.Glob(filepath.Join(root, g))
		for _, p := range m {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "run", "sshd"), 0o755); err != nil {
		return err
	}
	return importRootfs(ctx, root, key)
}

// addVagrantUser gives the vagrant user (made by useradd) passwordless sudo and the
// insecure key Vagrant logs in with first.
func addVagrantUser(root string, pub []byte) error {
	if err := os.WriteFile(filepath.Join(root, "etc", "sudoers.d", "vagrant"), []byte("vagrant ALL=(ALL) NOPASSWD:ALL\n"), 0o440); err != nil {
		return err
	}
	st, err := os.Stat(filepath.Join(root, "home", "vagrant"))
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("no owner of /home/vagrant")
	}
	uid, gid := int(sys.Uid), int(sys.Gid)
	ssh := filepath.Join(root, "home", "vagrant", ".ssh")
	if err := os.Mkdir(ssh, 0o700); err != nil {
		return err
	}
	keys := filepath.Join(ssh, "authorized_keys")
	if err := os.WriteFile(keys, pub, 0o600); err != nil {
		return err
	}
	for _, p := range []string{ssh, keys} {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// importRootfs streams the root filesystem into `docker import` as NodeImage. tar
// rather than archive/tar: debootstrap's tree has hard links, device nodes and
// ownership to keep as they are.
func importRootfs(ctx context.Context, root, key string) error {
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", root, "-c", ".")
	stream, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	var tarErr strings.Builder
	tar.Stderr = &tarErr
	if err := tar.Start(); err != nil {
		return err
	}
	importErr := docker(ctx, stream, "import",
		"-c", nodeImageCmd, "-c", "EXPOSE 22", "-c", "LABEL "+nodeImageLabel+"="+key, "-", NodeImage)
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("tar: %v: %s", err, tarErr.String())
	}
	return importErr
}

// runTool runs a command, its output kept for the error.
func runTool(ctx context.Context, name string, args ...string) error {
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		tail := strings.TrimSpace(string(out))
		if i := len(tail) - 2000; i > 0 {
			tail = tail[i:]
		}
		return fmt.Errorf("%s %s: %v: %s", name, args[0], err, tail)
	}
	return nil
}

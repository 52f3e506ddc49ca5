package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins/internal/poll"
	"github.com/hashicorp/nomad/api"
)

// The task drivers the jobs run with, best first. None runs a task as root: exec and
// raw_exec run it as TaskUser (and the lab's clients refuse uid 0 for both),
// docker as the image's own non-root user.
const (
	Docker  = "docker"   // the images dockercoins/<service>:local, host networking
	Exec    = "exec"     // a chroot holding only what the tasks run, as TaskUser
	RawExec = "raw_exec" // no isolation, as TaskUser: only where exec cannot run
)

// Drivers lists the drivers, best first.
var Drivers = []string{Docker, Exec, RawExec}

// TaskUser is the unprivileged host user exec and raw_exec tasks run as.
const TaskUser = "nobody"

// CheckDriver tells whether d names a driver ("" lets Up choose).
func CheckDriver(d string) error {
	if d != "" && !slices.Contains(Drivers, d) {
		return fmt.Errorf("the driver must be docker, exec or raw_exec, got %q", d)
	}
	return nil
}

// HealthyDrivers lists the drivers of Drivers the Nomad client at c fingerprints as
// healthy, best first, once the client has reported on every one of them (a driver it
// never reports on within 15 s counts as not healthy).
func HealthyDrivers(ctx context.Context, c *api.Client) ([]string, error) {
	var healthy []string
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err := poll.Until(ctx, "the Nomad client's drivers", agentPoll, func() (bool, string, error) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil || len(nodes) == 0 {
			return false, fmt.Sprint("no node yet ", err), nil
		}
		healthy = healthy[:0]
		reported := 0
		for _, d := range Drivers {
			info, ok := nodes[0].Drivers[d]
			if ok {
				reported++
			}
			if ok && info.Detected && info.Healthy {
				healthy = append(healthy, d)
			}
		}
		return reported == len(Drivers), fmt.Sprintf("healthy so far: %v", healthy), nil
	})
	if len(healthy) > 0 {
		return healthy, nil
	}
	return nil, err
}

// ChooseDriver picks the best driver for the app: docker where the client runs it and
// the images are there (imagesReady), else exec, else raw_exec.
func ChooseDriver(healthy []string, imagesReady bool) (string, error) {
	for _, d := range Drivers {
		if slices.Contains(healthy, d) && (d != Docker || imagesReady) {
			return d, nil
		}
	}
	return "", fmt.Errorf("the Nomad client runs none of docker, exec, raw_exec (healthy: %v)", healthy)
}

// Chroot is what exec's chroot holds besides the few files of /etc a program reads.
type Chroot struct {
	Bins []string // binaries, or folders of them, each at ChrootBinDir, with the libraries they load

	// Later are binaries still being built (Jaeger while make up's app mines), static
	// ones: Nomad skips a chroot source that does not exist yet and links it into every
	// task started after it does.
	Later []string
}

// WriteDriverConfig writes the Nomad client configuration of the task drivers to file:
// exec and raw_exec refuse to run a task as uid or gid 0; raw_exec is enabled only if
// rawExec; and exec's chroot holds only what c names, so it is built in milliseconds
// (the default chroot links all of /usr into every task).
func WriteDriverConfig(file string, rawExec bool, c Chroot) error {
	env, err := chrootEnv(c.Bins)
	if err != nil {
		return err
	}
	for _, bin := range c.Later {
		if _, dup := env[bin]; !dup {
			env[bin] = path.Join(ChrootBinDir, filepath.Base(bin))
		}
	}
	var b strings.Builder
	b.WriteString("# Written by the lab (lab/drivers.go) for this node's Nomad client.\n")
	b.WriteString("client {\n  chroot_env = {\n")
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "    %s = %s\n", strconv.Quote(k), strconv.Quote(env[k]))
	}
	b.WriteString("  }\n}\n\n")
	// No denied_host_gids: Nomad 1.10.5 counts gid 0 among every user's groups (its
	// list of them starts with zeros), so denying gid 0 refuses every task.
	b.WriteString(`plugin "exec" {
  config {
    denied_host_uids = "0"
  }
}

`)
	fmt.Fprintf(&b, `plugin "raw_exec" {
  config {
    enabled          = %t
    denied_host_uids = "0"
  }
}
`, rawExec)
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// chrootFiles are the files of /etc a program in the chroot may read.
var chrootFiles = []string{"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/nsswitch.conf", "/etc/resolv.conf",
	"/etc/ssl/certs/ca-certificates.crt"}

// ChrootBinDir is where the exec chroot holds every binary the jobs run (the jobs'
// chroot_bin_dir): at a path of its own, since the chroot's folders take the host's
// permissions, and a binary under /root would be out of the task user's reach.
const ChrootBinDir = "/opt/dockercoins/bin"

// chrootEnv maps each binary (or each one in a folder of them) to ChrootBinDir, and
// each library they load and each of chrootFiles to its own path. Sources are resolved
// symbolic links, since Nomad links files, not links.
func chrootEnv(bins []string) (map[string]string, error) {
	env := map[string]string{}
	add := func(src, dst string) {
		if real, err := filepath.EvalSymlinks(src); err == nil {
			if _, dup := env[real]; !dup {
				env[real] = dst
			}
		}
	}
	for _, f := range chrootFiles {
		add(f, f)
	}
	for _, bin := range bins {
		st, err := os.Stat(bin)
		if err != nil {
			return nil, fmt.Errorf("a binary for the exec chroot: %w", err)
		}
		files := []string{bin}
		if st.IsDir() {
			entries, err := os.ReadDir(bin)
			if err != nil {
				return nil, err
			}
			files = files[:0]
			for _, e := range entries {
				if !e.IsDir() {
					files = append(files, filepath.Join(bin, e.Name()))
				}
			}
		}
		for _, f := range files {
			add(f, path.Join(ChrootBinDir, filepath.Base(f)))
			libs, _ := sharedLibs(f) // one ldd cannot read adds nothing, as before
			for _, lib := range libs {
				add(lib, lib)
			}
		}
	}
	return env, nil
}

// taskChroot is what a stack's tasks run: the services (in binDir, default
// <root>/bin), redis-server and the pinned tools (jaeger, and consul for Redis's mesh
// proxy); a Jaeger not built yet comes later.
func taskChroot(root, binDir string, tools Tools) Chroot {
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	c := Chroot{Bins: []string{binDir}}
	if redis, err := exec.LookPath("redis-server"); err == nil {
		c.Bins = append(c.Bins, redis)
	}
	if tools.Consul != "" {
		c.Bins = append(c.Bins, tools.Consul)
	}
	switch {
	case tools.JaegerBuilt():
		c.Bins = append(c.Bins, tools.Jaeger)
	case tools.Jaeger != "":
		c.Later = append(c.Later, tools.Jaeger)
	}
	return c
}

// ImagesReady tells whether the service images the docker driver runs
// (dockercoins/<service>:local) are in the local Docker engine.
func ImagesReady(ctx context.Context) bool {
	args := []string{"image", "inspect", "--format", "{{.Id}}"}
	for _, svc := range Services {
		args = append(args, ServiceImage(svc))
	}
	return exec.CommandContext(ctx, "docker", args...).Run() == nil
}

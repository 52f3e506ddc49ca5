package lab

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Images are the images docker-compose.yml names, built on this machine. With no
// registry to pull from, each upstream image has a stand-in made from what the machine
// has, tagged with the exact name the compose file and the Dockerfiles use:
//
//   - golang:1.26.8-bookworm: this machine's Go toolchain (/usr/local/go) and dash as
//     /bin/sh with its C library, CA roots, GOPATH=/go, GOTOOLCHAIN=local;
//   - gcr.io/distroless/static-debian12:nonroot: scratch, CA roots, and a passwd and
//     group with nonroot (65532), user nonroot, workdir /home/nonroot;
//   - redis:7.0.15-alpine: Debian's redis-server and redis-cli (7.0.15) with their
//     libraries, running as uid 999 with /data, as the official image does, and dash
//     as /bin/sh (the compose file's health check reads the password in a shell, as
//     the official image's busybox sh would);
//   - hashicorp/consul:1.21.0 and jaegertracing/jaeger:2.13.0 (the same release as the
//     Jaeger module v1.76.0): the pinned binaries the Nomad stacks run
//     (~/.cache/dockercoins/bin), with the entrypoint the official images have, and for
//     Jaeger the official image's user (10001, not root). Not its JAEGER_LISTEN_HOST:
//     without it the receivers DockerCoins does not use (Jaeger, Zipkin, sampling,
//     zpages) listen on the container's loopback only.
//
// The four service images are built from their own Dockerfiles, unchanged, on those
// stand-ins, and tagged dockercoins/<service>:local, the name docker-compose.yml and
// Nomad's docker driver use; so is dockercoins/dockercoins:local, the control program
// that runs the compose file's secrets job (cmd/dockercoins/Dockerfile).
var Images = []string{
	GolangImage, DistrolessImage, RedisImage, ConsulImage, JaegerImage,
	ServiceImage("rng"), ServiceImage("hasher"), ServiceImage("worker"), ServiceImage("webui"),
	ServiceImage("dockercoins"),
}

// The upstream images the compose file and the Dockerfiles name.
const (
	GolangImage     = "golang:1.26.8-bookworm"
	DistrolessImage = "gcr.io/distroless/static-debian12:nonroot"
	RedisImage      = "redis:7.0.15-alpine"
	ConsulImage     = "hashicorp/consul:1.21.0"
	JaegerImage     = "jaegertracing/jaeger:2.13.0"
)

// ServiceImage is the local tag of a service's image.
func ServiceImage(service string) string { return "dockercoins/" + service + ":local" }

// inputsLabel carries the hash of what an image was made from; an image whose label
// differs from the current inputs' is made again.
const inputsLabel = "org.dockercoins.inputs"

// standInVersion changes when the way stand-ins are made changes.
const standInVersion = "2"

// BuildImages makes every image of Images that the daemon lacks or holds from other
// inputs: it loads it from cacheDir (a `docker save` of an earlier build with the same
// inputs) or builds it there, and saves it for next time. root is the repository;
// tools the binaries the Consul and Jaeger stand-ins carry. Progress goes to out.
func BuildImages(ctx context.Context, root, cacheDir string, tools Tools, out io.Writer) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	b := imageBuilder{root: root, cache: cacheDir, tools: tools, out: out}
	for _, name := range Images {
		if err := b.ensure(ctx, name); err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
	}
	return nil
}

// ImageCacheDir is where BuildImages keeps its saved images by default.
func ImageCacheDir() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "dockercoins", "images")
}

type imageBuilder struct {
	root, cache string
	tools       Tools
	out         io.Writer
	keys        map[string]string
}

// ensure makes one image present with its current inputs.
func (b *imageBuilder) ensure(ctx context.Context, name string) error {
	key, err := b.key(name)
	if err != nil {
		return err
	}
	if b.labelOf(ctx, name) == key {
		return nil
	}
	saved := filepath.Join(b.cache, cacheFile(name, key))
	if _, err := os.Stat(saved); err == nil {
		start := time.Now()
		if err := docker(ctx, nil, "load", "-q", "-i", saved); err != nil {
			return err
		}
		if b.labelOf(ctx, name) == key {
			fmt.Fprintf(b.out, "loaded %s from %s (%.1fs)\n", name, saved, time.Since(start).Seconds())
			return nil
		}
	}
	start := time.Now()
	if err := b.build(ctx, name, key); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "built %s (%.1fs)\n", name, time.Since(start).Seconds())
	return saveImage(ctx, name, saved, filepath.Join(b.cache, cacheFile(name, "*")))
}

// saveImage writes the daemon's image name to the cache file saved, replacing the older
// files that match stale; a failed save leaves the cache as it was.
func saveImage(ctx context.Context, name, saved, stale string) error {
	old, _ := filepath.Glob(stale)
	tmp := saved + ".tmp"
	if err := docker(ctx, nil, "save", "-o", tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	for _, o := range old {
		os.Remove(o)
	}
	return os.Rename(tmp, saved)
}

func cacheFile(name, key string) string {
	r := strings.NewReplacer("/", "_", ":", "_")
	if key != "*" {
		key = key[:16]
	}
	return r.Replace(name) + "-" + key + ".tar"
}

// labelOf is the inputs label of the image the daemon holds under name, "" if none.
func (b *imageBuilder) labelOf(ctx context.Context, name string) string {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f",
		`{{index .Config.Labels "`+inputsLabel+`"}}`, name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// key hashes what an image is made from: for a stand-in, the files it carries; for a
// service image, its Dockerfile, the build context and the keys of its base images.
func (b *imageBuilder) key(name string) (string, error) {
	if k, ok := b.keys[name]; ok {
		return k, nil
	}
	h := sha256.New()
	fmt.Fprintln(h, standInVersion, name)
	var err error
	switch name {
	case GolangImage:
		err = hashFiles(h, "/usr/local/go/VERSION", "/bin/dash", "/etc/ssl/certs/ca-certificates.crt",
			filepath.Join(b.root, "go.mod"), filepath.Join(b.root, "go.sum"))
	case DistrolessImage:
		err = hashFiles(h, "/etc/ssl/certs/ca-certificates.crt")
	case RedisImage:
		err = hashFiles(h, "/usr/bin/redis-server", "/usr/bin/redis-cli", "/bin/dash")
	case ConsulImage:
		err = hashFiles(h, b.tools.Consul)
	case JaegerImage:
		err = hashFiles(h, b.tools.Jaeger)
	default:
		for _, base := range []string{GolangImage, DistrolessImage} {
			k, err := b.key(base)
			if err != nil {
				return "", err
			}
			fmt.Fprintln(h, k)
		}
		err = hashContext(h, b.root)
	}
	if err != nil {
		return "", err
	}
	if b.keys == nil {
		b.keys = map[string]string{}
	}
	b.keys[name] = hex.EncodeToString(h.Sum(nil))
	return b.keys[name], nil
}

func hashFiles(h io.Writer, paths ...string) error {
	for _, p := range paths {
		if p == "" {
			return errors.New("a binary the image needs is not found (make tools)")
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// hashContext hashes every file of the build context: the repository but what
// .dockerignore leaves out (its top-level names).
func hashContext(h io.Writer, root string) error {
	ignored := map[string]bool{}
	if f, err := os.Open(filepath.Join(root, ".dockerignore")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.Trim(strings.TrimSpace(sc.Text()), "/"); l != "" && !strings.HasPrefix(l, "#") {
				ignored[l] = true
			}
		}
		f.Close()
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if ignored[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fmt.Fprintln(h, rel)
		return hashFiles(h, p)
	})
}

// build makes the image name, labelled with key.
func (b *imageBuilder) build(ctx context.Context, name, key string) error {
	label := inputsLabel + "=" + key
	switch name {
	case GolangImage:
		if err := importImage(ctx, b.cache, name, label, golangRootfs, []string{
			"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"ENV GOLANG_VERSION=1.26.8", "ENV GOPATH=/go", "ENV GOTOOLCHAIN=local", "ENV HOME=/root",
			"WORKDIR /go", `CMD ["/bin/sh"]`,
		}); err != nil {
			return err
		}
		return b.warmGoCache(ctx, name, label)
	case DistrolessImage:
		return importImage(ctx, b.cache, name, label, distrolessRootfs, []string{
			"ENV PATH=/usr/local/bin:/usr/bin:/bin", "USER 65532", "WORKDIR /home/nonroot",
		})
	case RedisImage:
		return importImage(ctx, b.cache, name, label, redisRootfs, []string{
			"ENV PATH=/usr/local/bin:/usr/bin:/bin", "USER 999", "WORKDIR /data", `CMD ["redis-server"]`,
		})
	case ConsulImage:
		return importImage(ctx, b.cache, name, label, binaryRootfs(b.tools.Consul, "/bin/consul"), []string{
			"ENV PATH=/bin", `ENTRYPOINT ["/bin/consul"]`, `CMD ["agent", "-dev", "-client", "0.0.0.0"]`,
		})
	case JaegerImage:
		return importImage(ctx, b.cache, name, label, binaryRootfs(b.tools.Jaeger, "/cmd/jaeger/jaeger-linux"), []string{
			"ENV PATH=/bin", "USER 10001", `ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]`,
		})
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-f", dockerfile(name),
		"-t", name, "--label", label, ".")
	cmd.Dir = b.root
	// The legacy builder: BuildKit would fetch its Dockerfile frontend from a registry.
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build: %v: %s", err, lastLines(out, 20))
	}
	return nil
}

// dockerfile is the Dockerfile (from the repository's top) of a dockercoins/<name>:local
// image: the service's own, or the control program's.
func dockerfile(image string) string {
	name := strings.TrimSuffix(strings.TrimPrefix(image, "dockercoins/"), ":local")
	if name == "dockercoins" {
		return filepath.Join("cmd", "dockercoins", "Dockerfile")
	}
	return filepath.Join("services", name, "Dockerfile")
}

// warmGoCache compiles the app's dependencies in the Go stand-in, the way the
// Dockerfiles' build stage does (in /src, CGO_ENABLED=0, -trimpath), and keeps the
// module and build caches in the image: the legacy builder has no cache mounts, and
// without this each of the four service builds compiles every dependency again (some
// ten minutes each on two busy cores). The upstream image has no such cache; builds
// from it are the same, only slower.
func (b *imageBuilder) warmGoCache(ctx context.Context, name, label string) error {
	const script = `set -e
export CGO_ENABLED=0
go mod download
pkgs=$(go list -deps -f '{{if .Module}}{{if not .Module.Main}}{{.ImportPath}}{{end}}{{end}}' ./cmd/rng ./cmd/hasher ./cmd/worker ./cmd/webui)
go build -trimpath $pkgs`
	ctr := fmt.Sprintf("dockercoins-gowarm-%d", os.Getpid())
	defer exec.Command("docker", "rm", "-f", ctr).Run()
	if err := docker(ctx, nil, "run", "--name", ctr, "-v", b.root+":/src:ro", "-w", "/src", name, "/bin/sh", "-c", script); err != nil {
		return fmt.Errorf("warming the Go caches: %w", err)
	}
	return docker(ctx, nil, "commit", "-c", "WORKDIR /go", "-c", `CMD ["/bin/sh"]`, "-c", "LABEL "+label, ctr, name)
}

// importImage writes a root filesystem with fill into a file in dir, then imports it:
// a stream cut short would be imported as an image all the same.
func importImage(ctx context.Context, dir, name, label string, fill func(*rootfs) error, changes []string) error {
	f, err := os.CreateTemp(dir, "rootfs-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	r := &rootfs{tw: tar.NewWriter(f), seen: map[string]bool{}}
	err = fill(r)
	if err == nil {
		err = r.tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("root filesystem: %w", err)
	}
	args := []string{"import"}
	for _, c := range append(changes, "LABEL "+label) {
		args = append(args, "-c", c)
	}
	return docker(ctx, nil, append(args, f.Name(), name)...)
}

// docker runs the docker CLI, its output kept for the error.
func docker(ctx context.Context, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker %s: %v: %s", args[0], err, lastLines(out, 10))
	}
	return nil
}

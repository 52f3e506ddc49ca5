package lab

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// rootfs writes an image's root filesystem as a tar stream, from files of this machine.
type rootfs struct {
	tw   *tar.Writer
	seen map[string]bool
}

// dir adds a folder (and its parents) owned by uid.
func (r *rootfs) dir(name string, mode fs.FileMode, uid int) error {
	name = strings.Trim(name, "/")
	if name == "" || name == "." || r.seen[name] {
		return nil
	}
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	r.seen[name] = true
	return r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(mode), Uid: uid, Gid: uid})
}

// bytes adds a file with the given content.
func (r *rootfs) bytes(name string, data []byte, mode fs.FileMode) error {
	name = strings.Trim(name, "/")
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	if err := r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := r.tw.Write(data)
	return err
}

// file adds the host file src (symlinks followed) at name.
func (r *rootfs) file(src, name string) error {
	name = strings.Trim(name, "/")
	if r.seen[name] {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := r.dir(path.Dir(name), 0o755, 0); err != nil {
		return err
	}
	r.seen[name] = true
	if err := r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(st.Mode().Perm()), Size: st.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(r.tw, f)
	return err
}

// program adds the host program src at name with the shared libraries it loads, at
// the paths the dynamic loader looks for them.
func (r *rootfs) program(src, name string) error {
	if err := r.file(src, name); err != nil {
		return err
	}
	libs, err := sharedLibs(src)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := r.file(l, l); err != nil {
			return err
		}
	}
	return nil
}

// tree adds the host folder src at name, as it is (symlinks as symlinks).
func (r *rootfs) tree(src, name string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := path.Join(name, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return r.dir(dst, info.Mode().Perm(), 0)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return r.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: strings.Trim(dst, "/"), Linkname: target})
		case d.Type().IsRegular():
			return r.file(p, dst)
		}
		return nil
	})
}

// sharedLibs lists the libraries a dynamically linked program loads, per ldd; none for
// a static one.
func sharedLibs(prog string) ([]string, error) {
	out, err := exec.Command("ldd", prog).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", prog, err, out)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0]) // the loader itself
		}
	}
	return libs, nil
}

// The files every stand-in has: CA roots, /tmp, and a passwd and group file.
func (r *rootfs) base(passwd, group string) error {
	if err := r.file("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"); err != nil {
		return err
	}
	if err := r.dir("/tmp", 0o1777, 0); err != nil {
		return err
	}
	if err := r.bytes("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"+passwd+"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"), 0o644); err != nil {
		return err
	}
	return r.bytes("/etc/group", []byte("root:x:0:\n"+group+"nogroup:x:65534:\n"), 0o644)
}

func golangRootfs(r *rootfs) error {
	for _, step := range []func() error{
		func() error { return r.base("", "") },
		func() error { return r.program("/bin/dash", "/bin/sh") },
		func() error { return r.dir("/root", 0o700, 0) },
		func() error { return r.dir("/go/bin", 0o777, 0) },
		func() error { return r.dir("/go/src", 0o777, 0) },
		func() error { return r.tree("/usr/local/go", "/usr/local/go") },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func distrolessRootfs(r *rootfs) error {
	if err := r.base("nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", "nonroot:x:65532:\n"); err != nil {
		return err
	}
	return r.dir("/home/nonroot", 0o700, 65532)
}

func redisRootfs(r *rootfs) error {
	for _, step := range []func() error{
		func() error {
			return r.base("redis:x:999:1000:redis:/home/redis:/sbin/nologin\n", "redis:x:1000:redis\n")
		},
		func() error { return r.program("/usr/bin/redis-server", "/usr/local/bin/redis-server") },
		func() error { return r.program("/usr/bin/redis-cli", "/usr/local/bin/redis-cli") },
		func() error { return r.program("/bin/dash", "/bin/sh") },
		func() error { return r.dir("/data", 0o755, 999) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// binaryRootfs is a root filesystem holding one program (and its libraries) at name.
func binaryRootfs(prog, name string) func(*rootfs) error {
	return func(r *rootfs) error {
		if err := r.base("", ""); err != nil {
			return err
		}
		return r.program(prog, name)
	}
}

// lastLines is the last n lines of a command's output, indented.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return "  " + strings.Join(lines[max(0, len(lines)-n):], "\n  ")
}

package testbed

import (
	"io/fs"
	"os"
	"path/filepath"
)

// TreeFiles calls f with each regular file of the working tree under root, by its path
// relative to root and its content, leaving out .git and files over 64 MiB, for tests
// that look for a secret where it must not be. A file that goes away or cannot be read
// while it walks (a running stack's state) is passed over; only an unreadable root is
// an error. It returns how many files it read.
func TreeFiles(root string, f func(rel string, b []byte)) (int, error) {
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err != nil || !d.Type().IsRegular() || info.Size() > 64<<20 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		files++
		f(rel, b)
		return nil
	})
	return files, err
}

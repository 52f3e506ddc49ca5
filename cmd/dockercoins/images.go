package main

import (
	"context"
	"io"
	"os"

	"github.com/dockercoins/dockercoins/lab"
)

// images builds, or loads from the cache, every image docker-compose.yml names.
func images(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usagef("images takes no arguments")
	}
	tools, err := lab.FindTools()
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	return lab.BuildImages(ctx, root, lab.ImageCacheDir(), tools, stdout)
}

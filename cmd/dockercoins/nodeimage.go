package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/dockercoins/dockercoins/lab"
)

// nodeImage builds (or loads from the cache) the node image of the Vagrant lab's
// docker provider.
func nodeImage(ctx context.Context, args []string, stdout io.Writer) error {
	opts := lab.DefaultNodeImageOptions()
	fs := flag.NewFlagSet("node-image", flag.ContinueOnError)
	fs.StringVar(&opts.CacheDir, "cache", opts.CacheDir, "folder of the saved image")
	fs.StringVar(&opts.Mirror, "mirror", opts.Mirror, "Debian mirror")
	fs.StringVar(&opts.VagrantKey, "key", "", "the vagrant user's authorized key (default: the vagrant gem's insecure key)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := lab.BuildNodeImage(ctx, opts, stdout); err != nil {
		return fmt.Errorf("node-image: %w", err)
	}
	fmt.Fprintf(stdout, "%s ready: vagrant up --provider=docker\n", lab.NodeImage)
	return nil
}

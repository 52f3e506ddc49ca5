package redis

import (
	"context"
	"net"

	goredis "github.com/redis/go-redis/v9"
)

// NewClient returns a Redis client whose connections are made by dial, which finds a
// Redis instance (through Consul, or at a fixed address).
func NewClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr:   "redis", // only a label: dial decides where connections go
		Dialer: dial,
	})
}

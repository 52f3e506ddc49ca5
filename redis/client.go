package redis

import (
	"context"
	"net"

	"github.com/redis/go-redis/extra/redisotel/v9"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
)

// NewClient returns a Redis client whose connections are made by dial, which finds a
// Redis instance (through Consul, or at a fixed address). Its commands are traced
// (without their arguments, which hold whole batches) and measured.
func NewClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{
		Addr:   "redis", // only a label: dial decides where connections go
		Dialer: dial,
	})
	// Instrumentation is optional: a failure is reported, the client works without it.
	if err := redisotel.InstrumentTracing(c, redisotel.WithDBStatement(false)); err != nil {
		otel.Handle(err)
	}
	if err := redisotel.InstrumentMetrics(c); err != nil {
		otel.Handle(err)
	}
	return c
}

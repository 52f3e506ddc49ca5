package redis

import (
	"context"
	"net"

	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/redis/go-redis/extra/redisotel/v9"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
)

// Auth is how a client proves itself to Redis: every stack's Redis requires a password.
type Auth struct {
	Password string
}

// Register defines -redis-password (REDIS_PASSWORD); the stacks give it in the
// environment, from a secret, so it shows in no process list.
func (a *Auth) Register(s *settings.Set) {
	s.String(&a.Password, "redis-password", "REDIS_PASSWORD", "", "Redis password (requirepass); set it in the environment, not as a flag")
}

// NewClient returns a Redis client whose connections are made by dial, which finds a
// Redis instance (through Consul, or at a fixed address), and authenticated with auth.
// Its commands are traced (without their arguments, which hold whole batches) and
// measured.
func NewClient(dial func(ctx context.Context, network, addr string) (net.Conn, error), auth Auth) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{
		Addr:     "redis", // only a label: dial decides where connections go
		Dialer:   dial,
		Password: auth.Password,
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

package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/redis/go-redis/extra/redisotel/v9"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
)

// Auth is how a client proves itself to Redis: every stack's Redis requires a password.
type Auth struct {
	Password string
	// PasswordFile holds the password instead (a mounted secret): images with nothing
	// but the binary have no shell to put a file into the environment.
	PasswordFile string
}

// Register defines -redis-password (REDIS_PASSWORD) and -redis-password-file
// (REDIS_PASSWORD_FILE); the stacks give one in the environment, from a secret, so the
// password shows in no process list.
func (a *Auth) Register(s *settings.Set) {
	s.String(&a.Password, "redis-password", "REDIS_PASSWORD", "", "Redis password (requirepass); set it in the environment, not as a flag")
	s.String(&a.PasswordFile, "redis-password-file", "REDIS_PASSWORD_FILE", "", "file holding the Redis password (a mounted secret), instead of REDIS_PASSWORD")
}

// Load reads PasswordFile, if set, into Password (without the line's end), once the
// settings are parsed.
func (a *Auth) Load() error {
	if a.PasswordFile == "" {
		return nil
	}
	if a.Password != "" {
		return errors.New("REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set: give one")
	}
	b, err := os.ReadFile(a.PasswordFile)
	if err != nil {
		return fmt.Errorf("redis password file: %w", err)
	}
	a.Password = strings.TrimRight(string(b), "\r\n")
	if a.Password == "" {
		return fmt.Errorf("redis password file %s is empty", a.PasswordFile)
	}
	return nil
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

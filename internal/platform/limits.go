package platform

import (
	"fmt"
	"net/http"
	"time"

	"github.com/dockercoins/dockercoins/internal/settings"
)

// Limits bound what one client can hold of a server: how long it may take to send its
// headers and its request, how long its answer may take to write, how long an idle
// connection is kept, and how big its headers may be. Without them a few hundred
// connections that send nothing, or send a byte a second, hold a goroutine and a
// buffer each for ever.
type Limits struct {
	ReadHeaderTimeout time.Duration // from accepting a connection (or the last request) to the end of the headers; also bounds the TLS handshake
	ReadTimeout       time.Duration // to the end of the request body
	// WriteTimeout runs from the end of the headers to the last byte of the answer, so
	// it bounds how long a handler may take: rng's longest queue wait must fit in it.
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration // how long a keep-alive connection waits for its next request
	MaxHeaderBytes int           // the request line and headers (Go allows 4 KiB more)
}

// Register defines the limits' settings on s.
func (l *Limits) Register(s *settings.Set) {
	s.Duration(&l.ReadHeaderTimeout, "http-read-header-timeout", "HTTP_READ_HEADER_TIMEOUT", 5*time.Second,
		"longest time a client may take to send a request's headers (and the TLS handshake)")
	s.Duration(&l.ReadTimeout, "http-read-timeout", "HTTP_READ_TIMEOUT", 30*time.Second,
		"longest time a client may take to send a whole request, body included")
	s.Duration(&l.WriteTimeout, "http-write-timeout", "HTTP_WRITE_TIMEOUT", 30*time.Second,
		"longest time from a request's headers to the end of its answer; must exceed rng's longest queue wait")
	s.Duration(&l.IdleTimeout, "http-idle-timeout", "HTTP_IDLE_TIMEOUT", 60*time.Second,
		"how long an idle keep-alive connection is kept open")
	s.Int(&l.MaxHeaderBytes, "http-max-header-bytes", "HTTP_MAX_HEADER_BYTES", 8<<10,
		"largest request line and headers accepted, in bytes; larger ones get 431")
}

// Check says which limit is unusable: every one must be positive, or a single client
// could hold a connection for ever.
func (l Limits) Check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HTTP_READ_HEADER_TIMEOUT", l.ReadHeaderTimeout},
		{"HTTP_READ_TIMEOUT", l.ReadTimeout},
		{"HTTP_WRITE_TIMEOUT", l.WriteTimeout},
		{"HTTP_IDLE_TIMEOUT", l.IdleTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be above zero, got %s", d.name, d.v)
		}
	}
	if l.MaxHeaderBytes < 1024 {
		return fmt.Errorf("HTTP_MAX_HEADER_BYTES must be at least 1024, got %d", l.MaxHeaderBytes)
	}
	return nil
}

// apply sets the limits on srv.
func (l Limits) apply(srv *http.Server) {
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.ReadTimeout = l.ReadTimeout
	srv.WriteTimeout = l.WriteTimeout
	srv.IdleTimeout = l.IdleTimeout
	srv.MaxHeaderBytes = l.MaxHeaderBytes
}

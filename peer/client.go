package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dockercoins/dockercoins/internal/pause"
)

// MaxAttempts bounds how many instances one request tries before it fails.
const MaxAttempts = 3

// Client calls one service over HTTP. Requests go round-robin over the service's
// instances; a connection error or a 5xx from one instance is retried on the next, so
// losing an instance costs no request.
type Client struct {
	Service  string
	Resolver Resolver
	HTTP     *http.Client // defaults to http.DefaultClient
	Scheme   string       // defaults to "http"

	next atomic.Uint64
}

// StatusError is a response the service gave but the caller cannot use.
type StatusError struct {
	Service string
	Addr    string
	Code    int
	Body    string
	// RetryAfter is how long the instance asked callers to wait (its Retry-After, read
	// by pause.RetryAfter); zero when it named no time.
	RetryAfter time.Duration
}

// Wait is how long the service asked its callers to wait, found in err (one error or
// several joined): the longest Retry-After any instance gave, zero when none did.
func Wait(err error) time.Duration {
	switch e := err.(type) {
	case *StatusError:
		return e.RetryAfter
	case interface{ Unwrap() []error }:
		var wait time.Duration
		for _, inner := range e.Unwrap() {
			wait = max(wait, Wait(inner))
		}
		return wait
	case interface{ Unwrap() error }:
		return Wait(e.Unwrap())
	}
	return 0
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s at %s answered %d: %s", e.Service, e.Addr, e.Code, e.Body)
}

// Request is one call to a peer; it is sent again as it is to another instance when
// the first fails.
type Request struct {
	Method      string
	Path        string // with its leading slash
	ContentType string // empty: no Content-Type header
	Body        []byte
}

// Caller sends a request to some instance of a service and returns the body of its
// 2xx answer. *Client is one; the services' typed clients are built on it.
type Caller interface {
	Do(ctx context.Context, r Request) ([]byte, error)
}

// Do sends r and returns the response body of the first instance that answers 2xx.
func (c *Client) Do(ctx context.Context, r Request) ([]byte, error) {
	addrs, err := c.Resolver.Resolve(ctx, c.Service)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", c.Service, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("find %s: no healthy instance", c.Service)
	}
	start := c.next.Add(1)
	var errs []error
	for i := range min(len(addrs), MaxAttempts) {
		addr := addrs[(start+uint64(i))%uint64(len(addrs))]
		out, err := c.try(ctx, addr, r)
		if err == nil {
			return out, nil
		}
		errs = append(errs, err)
		var se *StatusError
		if ctx.Err() != nil || (errors.As(err, &se) && se.Code < 500) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (c *Client) try(ctx context.Context, addr string, r Request) ([]byte, error) {
	scheme := c.Scheme
	if scheme == "" {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, scheme+"://"+addr+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	joinTrace(ctx, req)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 2<<20))
	if err != nil {
		return nil, fmt.Errorf("%s at %s: reading answer: %w", c.Service, addr, err)
	}
	if resp.StatusCode/100 != 2 {
		if len(out) > 200 {
			out = out[:200]
		}
		return nil, &StatusError{Service: c.Service, Addr: addr, Code: resp.StatusCode, Body: string(bytes.TrimSpace(out)), RetryAfter: pause.RetryAfter(resp.Header.Get("Retry-After"))}
	}
	return out, nil
}

package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dockercoins/dockercoins/internal/pause"
)

// errExporterStopped is what an export after Shutdown returns.
var errExporterStopped = errors.New("span exporter shut down")

// retryPolicy says how long an export keeps trying: exponential backoff from initial,
// each wait at most maxWait, giving up once maxElapsed has passed.
type retryPolicy struct {
	initial, maxWait, maxElapsed time.Duration
}

// defaultRetry is the exporter's retry policy: short, so a collector that is down costs
// a batch, not a queue stuck for minutes.
var defaultRetry = retryPolicy{initial: 250 * time.Millisecond, maxWait: time.Second, maxElapsed: 3 * time.Second}

// The media types of OTLP/HTTP's two encodings.
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// encodeFunc appends the request carrying spans to a buffer, in one encoding.
type encodeFunc func(*spanEncoder, []byte, []spanData) []byte

// otlpExporter sends spans to an OTLP/HTTP collector (a spanExporter), in
// protobuf or, if asked, JSON. The span queue calls it from one goroutine; the mutex
// keeps a second caller from sharing the buffers all the same.
type otlpExporter struct {
	url         string
	contentType string
	encode      encodeFunc // of contentType
	headers     map[string]string
	client      *http.Client
	timeout     time.Duration // per attempt
	retry       retryPolicy

	stop     context.Context // cancelled by Shutdown: an export under way gives up
	stopping context.CancelFunc

	mu   sync.Mutex
	enc  spanEncoder
	body []byte
}

// newExporter makes an exporter posting to url, the full traces URL, with headers added
// to every request, in the given protocol (ProtocolProtobuf or ProtocolJSON).
func newExporter(url, protocol string, headers map[string]string) *otlpExporter {
	stop, stopping := context.WithCancel(context.Background())
	// A transport of its own, so exports neither wait for nor crowd the service's
	// connections.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2
	contentType, encode := contentTypeProtobuf, encodeFunc((*spanEncoder).encodeProto)
	if protocol == ProtocolJSON {
		contentType, encode = contentTypeJSON, (*spanEncoder).encodeJSON
	}
	return &otlpExporter{
		url: url, contentType: contentType, encode: encode, headers: headers,
		client:  &http.Client{Transport: tr},
		timeout: 5 * time.Second,
		retry:   defaultRetry,
		stop:    stop, stopping: stopping,
	}
}

// ExportSpans encodes spans and posts them, retrying what a collector can recover from:
// a connection that dropped or timed out, and the answers 429, 502, 503 and 504 (after
// the Retry-After they carry, if longer than the backoff). A refused connection is not
// retried: nothing listens there.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []spanData) error {
	if len(spans) == 0 {
		return nil
	}
	if e.stop.Err() != nil {
		return errExporterStopped
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	body := e.encode(&e.enc, e.body[:0], spans)
	e.body = body
	if cap(body) > 16<<20 {
		e.body = nil // one huge batch should not pin its buffer for the process's life
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(e.stop, cancel)()
	return e.retry.do(ctx, func(ctx context.Context) error { return e.post(ctx, body) })
}

// post sends one attempt. A retryable failure is a *retryable error.
func (e *otlpExporter) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("traces request: %w", err)
	}
	req.Header.Set("Content-Type", e.contentType)
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	switch {
	case err == nil:
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return err // the export was cancelled or the exporter stopped
	case errors.Is(err, syscall.ECONNREFUSED):
		// Nothing listens: the collector is down, not busy. Failing at once keeps a
		// stopping service from spending its whole flush time on it.
		return err
	default: // a connection dropped or timed out
		return &retryable{err: err}
	}
	defer resp.Body.Close()
	// Read the answer whole (within reason), so the connection can be reused.
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return &retryable{err: fmt.Errorf("reading the collector's answer: %w", err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return partialSuccess(resp.Header.Get("Content-Type"), answer)
	}
	msg := strings.TrimSpace(string(answer))
	if msg == "" {
		msg = "(empty)"
	}
	err = fmt.Errorf("%s answered %s: %s", e.url, resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return &retryable{err: err, after: pause.RetryAfter(resp.Header.Get("Retry-After"))}
	}
	return err
}

// partialSuccess reads a collector's answer, in JSON or protobuf as its Content-Type
// says, for spans it took but rejected.
func partialSuccess(contentType string, answer []byte) error {
	switch {
	case len(answer) == 0:
		return nil
	case strings.HasPrefix(contentType, contentTypeProtobuf):
		return partialSuccessProto(answer)
	case !strings.HasPrefix(contentType, contentTypeJSON):
		return nil
	}
	var r struct {
		PartialSuccess struct {
			RejectedSpans json.Number `json:"rejectedSpans"`
			ErrorMessage  string      `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if err := json.Unmarshal(answer, &r); err != nil {
		return nil // the spans were taken; an answer we cannot read changes nothing
	}
	p := r.PartialSuccess
	if n, _ := p.RejectedSpans.Int64(); n != 0 || p.ErrorMessage != "" {
		return fmt.Errorf("collector rejected %d spans: %s", n, p.ErrorMessage)
	}
	return nil
}

// partialSuccessProto reads ExportTraceServiceResponse.partial_success (1): its
// rejected_spans (1) and error_message (2).
func partialSuccessProto(answer []byte) error {
	var rejected int64
	var msg string
	_ = protoFields(answer, func(field, wire int, _ uint64, data []byte) {
		if field != 1 || wire != wireBytes {
			return
		}
		_ = protoFields(data, func(field, wire int, n uint64, data []byte) {
			switch {
			case field == 1 && wire == wireVarint:
				rejected = int64(n)
			case field == 2 && wire == wireBytes:
				msg = string(data)
			}
		})
	}) // the spans were taken; an answer we cannot read changes nothing
	if rejected != 0 || msg != "" {
		return fmt.Errorf("collector rejected %d spans: %s", rejected, msg)
	}
	return nil
}

// Shutdown stops the exporter: an export under way gives up, and later ones fail.
func (e *otlpExporter) Shutdown(ctx context.Context) error {
	e.stopping()
	e.client.CloseIdleConnections()
	return ctx.Err()
}

// retryable is a failure worth another attempt, after at least after.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// do runs attempt until it succeeds, fails for good, or p's time runs out. Waits grow
// by half each time, with the same ±50% jitter as the OpenTelemetry exporters' backoff.
func (p retryPolicy) do(ctx context.Context, attempt func(context.Context) error) error {
	start := time.Now()
	wait := p.initial
	for {
		err := attempt(ctx)
		var r *retryable
		if err == nil || !errors.As(err, &r) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", context.Cause(ctx), r.err)
		}
		elapsed := time.Since(start)
		if elapsed > p.maxElapsed {
			return fmt.Errorf("gave up after %v: %w", elapsed.Round(time.Millisecond), r.err)
		}
		if elapsed+r.after > p.maxElapsed {
			return fmt.Errorf("collector asked to wait %v, past the %v retry limit: %w", r.after, p.maxElapsed, r.err)
		}
		delay := max(r.after, time.Duration(float64(wait)*(0.5+rand.Float64())))
		wait = min(wait*3/2, p.maxWait)
		if pause.For(ctx, delay) != nil {
			return fmt.Errorf("%w: %w", context.Cause(ctx), r.err)
		}
	}
}

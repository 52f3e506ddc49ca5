package jaeger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client queries one Jaeger.
type Client struct {
	URL  string       // the query service, e.g. http://localhost:16686
	HTTP *http.Client // defaults to a client with a 10 s timeout
}

// Query selects traces: those holding a span of Service (and Operation, when given)
// that started between Start and End and lasted at least MinDuration.
type Query struct {
	Service     string
	Operation   string
	Start, End  time.Time
	Limit       int // at most this many traces, the most recent first
	MinDuration time.Duration
	Tags        map[string]string // span or resource attributes the span must have
}

// response is the envelope of every query API answer.
type response[T any] struct {
	Data   T `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

// Traces returns the traces q selects.
func (c *Client) Traces(ctx context.Context, q Query) ([]Trace, error) {
	if q.Service == "" {
		return nil, fmt.Errorf("jaeger query: a service is required")
	}
	v := url.Values{"service": {q.Service}}
	if q.Operation != "" {
		v.Set("operation", q.Operation)
	}
	if !q.Start.IsZero() {
		v.Set("start", strconv.FormatInt(q.Start.UnixMicro(), 10))
	}
	if !q.End.IsZero() {
		v.Set("end", strconv.FormatInt(q.End.UnixMicro(), 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.MinDuration > 0 {
		v.Set("minDuration", q.MinDuration.String())
	}
	if len(q.Tags) > 0 {
		tags, err := json.Marshal(q.Tags)
		if err != nil {
			return nil, fmt.Errorf("jaeger query tags: %w", err)
		}
		v.Set("tags", string(tags))
	}
	var out []Trace
	err := c.get(ctx, "/api/traces?"+v.Encode(), &out)
	return out, err
}

// Trace returns one trace by its ID.
func (c *Client) Trace(ctx context.Context, id string) (Trace, error) {
	var out []Trace
	if err := c.get(ctx, "/api/traces/"+url.PathEscape(id), &out); err != nil {
		return Trace{}, err
	}
	if len(out) != 1 {
		return Trace{}, fmt.Errorf("jaeger trace %s: got %d traces", id, len(out))
	}
	return out[0], nil
}

// Services lists the services Jaeger has spans from.
func (c *Client) Services(ctx context.Context) ([]string, error) {
	var out []string
	err := c.get(ctx, "/api/services", &out)
	return out, err
}

func (c *Client) get(ctx context.Context, path string, into any) error {
	base := strings.TrimRight(c.URL, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return fmt.Errorf("jaeger query: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("jaeger query at %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("jaeger query at %s: reading answer: %w", base, err)
	}
	var r response[json.RawMessage]
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("jaeger query at %s answered %d, not JSON: %.200s", base, resp.StatusCode, body)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("jaeger query at %s: %s", base, r.Errors[0].Msg)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jaeger query at %s answered %d", base, resp.StatusCode)
	}
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(r.Data, into); err != nil {
		return fmt.Errorf("jaeger query at %s: %w", base, err)
	}
	return nil
}

// SearchURL links to the Jaeger UI's search for q's service and operation, traces of
// at least q.MinDuration over the last lookback.
func SearchURL(base string, q Query, lookback time.Duration) string {
	v := url.Values{"service": {q.Service}}
	if q.Operation != "" {
		v.Set("operation", q.Operation)
	}
	if q.MinDuration > 0 {
		v.Set("minDuration", q.MinDuration.Round(time.Millisecond).String())
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	v.Set("lookback", lookbackParam(lookback))
	return strings.TrimRight(base, "/") + "/search?" + v.Encode()
}

// lookbackParam writes d as the UI's lookback values are written: 5m, 1h, 2d.
func lookbackParam(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(max(1, int(d.Round(time.Minute)/time.Minute))) + "m"
}

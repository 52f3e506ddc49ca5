package telemetry

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins/internal/settings"
)

// Settings configure traces and metrics. The variables are the standard OpenTelemetry
// ones, read like every other setting (flag first, then the variable through the
// service's getenv), so tests and Nomad jobs set them the same way.
//
// Span limits are the specification's defaults, fixed (128 attributes, events and
// links a span, 128 attributes an event or link): OTEL_SPAN_*_LIMIT are not read. The
// exporter is the project's own (OTLP/HTTP, protobuf or JSON
// bodies): it takes no OTEL_EXPORTER_OTLP_COMPRESSION, _CERTIFICATE or _TIMEOUT (an
// attempt has 5 s), and of the headers only OTEL_EXPORTER_OTLP_HEADERS.
type Settings struct {
	Service        string // the service's own name, used when OTEL_SERVICE_NAME is empty
	Endpoint       string // OTLP/HTTP base URL; "/v1/traces" is added
	TracesEndpoint string // OTLP/HTTP traces URL, used as it is; wins over Endpoint
	Headers        string // OTEL_EXPORTER_OTLP_HEADERS: key=value,key=value sent with every export
	Protocol       string // OTEL_EXPORTER_OTLP_PROTOCOL: ProtocolProtobuf or ProtocolJSON
	TracesProtocol string // OTEL_EXPORTER_OTLP_TRACES_PROTOCOL; wins over Protocol
	ServiceName    string
	Sampler        string
	SamplerArg     string
	Attributes     string // OTEL_RESOURCE_ATTRIBUTES: key=value,key=value
	Disabled       bool   // OTEL_SDK_DISABLED: no tracing and no request metrics, at no cost
	BatchDelay     int    // ms between exports of a partial batch
	QueueSize      int    // spans held while the exporter is busy; more are dropped
	BatchSize      int    // spans per export
	AllocID        string
}

// Register defines the telemetry settings of service on s.
func (c *Settings) Register(s *settings.Set, service string) {
	c.Service = service
	s.String(&c.Endpoint, "otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector or Jaeger base URL, e.g. http://localhost:4318; empty: tracing off")
	s.String(&c.TracesEndpoint, "otlp-traces-endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "OTLP/HTTP traces URL used as is, e.g. http://localhost:4318/v1/traces; wins over -otlp-endpoint")
	s.String(&c.Headers, "otlp-headers", "OTEL_EXPORTER_OTLP_HEADERS", "", "headers sent with every span export, such as a collector's token: key=value,key=value, values percent-encoded")
	s.String(&c.Protocol, "otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", ProtocolProtobuf, "OTLP encoding: http/protobuf or http/json")
	s.String(&c.TracesProtocol, "otlp-traces-protocol", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "", "OTLP encoding of traces; wins over -otlp-protocol")
	s.String(&c.ServiceName, "otel-service-name", "OTEL_SERVICE_NAME", "", "service name in traces and metrics; empty: "+service)
	s.String(&c.Sampler, "otel-traces-sampler", "OTEL_TRACES_SAMPLER", "parentbased_always_on", "always_on, always_off, traceidratio or their parentbased_ forms")
	s.String(&c.SamplerArg, "otel-traces-sampler-arg", "OTEL_TRACES_SAMPLER_ARG", "", "sampling ratio from 0 to 1 for the traceidratio samplers")
	s.String(&c.Attributes, "otel-resource-attributes", "OTEL_RESOURCE_ATTRIBUTES", "", "extra resource attributes: key=value,key=value")
	s.Bool(&c.Disabled, "otel-sdk-disabled", "OTEL_SDK_DISABLED", false, "turn tracing and request metrics off, even with an endpoint set")
	s.Int(&c.BatchDelay, "otel-bsp-schedule-delay", "OTEL_BSP_SCHEDULE_DELAY", 1000, "milliseconds between span exports")
	s.Int(&c.QueueSize, "otel-bsp-max-queue-size", "OTEL_BSP_MAX_QUEUE_SIZE", 4096, "spans queued for export; beyond that they are dropped, never waited for")
	s.Int(&c.BatchSize, "otel-bsp-max-export-batch-size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1024, "spans per export")
	s.String(&c.AllocID, "instance-id", "NOMAD_ALLOC_ID", "", "service.instance.id; empty: host-pid")
}

// The OTLP protocols the exporter speaks. The specification's third, grpc, is not one
// of them: it would bring gRPC into every binary.
const (
	ProtocolProtobuf = "http/protobuf"
	ProtocolJSON     = "http/json"
)

// protocol is the encoding spans are exported in.
func (c *Settings) protocol() (string, error) {
	p, name := c.TracesProtocol, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if p == "" {
		p, name = c.Protocol, "OTEL_EXPORTER_OTLP_PROTOCOL"
	}
	switch p = strings.TrimSpace(p); p {
	case "":
		return ProtocolProtobuf, nil
	case ProtocolProtobuf, ProtocolJSON:
		return p, nil
	}
	return "", fmt.Errorf("%s=%q: want %s or %s (grpc is not supported)", name, p, ProtocolProtobuf, ProtocolJSON)
}

// TracesURL is where spans go, or "" when tracing is off.
func (c *Settings) TracesURL() (string, error) {
	if c.Disabled {
		return "", nil
	}
	raw, path := c.TracesEndpoint, ""
	name := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	if raw == "" {
		raw, path, name = c.Endpoint, "/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: want an http or https URL such as http://localhost:4318", name, raw)
	}
	if path != "" {
		u.Path = strings.TrimRight(u.Path, "/") + path
	}
	return u.String(), nil
}

// headers reads OTEL_EXPORTER_OTLP_HEADERS. Its values are often credentials: errors
// name the entry or the header, never a value.
func (c *Settings) headers() (map[string]string, error) {
	const name = "OTEL_EXPORTER_OTLP_HEADERS"
	pairs, err := parsePairs(name, c.Headers, true)
	if err != nil {
		return nil, err
	}
	h := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		if !validHeaderName(kv[0]) {
			return nil, fmt.Errorf("%s: %s is not a valid HTTP header name", name, strconv.Quote(kv[0]))
		}
		if !validHeaderValue(kv[1]) {
			return nil, fmt.Errorf("%s: the value of %s has control characters", name, kv[0])
		}
		h[kv[0]] = kv[1]
	}
	return h, nil
}

// validHeaderName checks a header's name is an HTTP token, so a typo fails at start
// rather than at every export.
func validHeaderName(name string) bool {
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// validHeaderValue checks a header's value has no control characters but tabs.
func validHeaderValue(value string) bool {
	for _, r := range value {
		if r < ' ' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// validate checks the numbers, so a typo gives an error instead of a silent default.
func (c *Settings) validate() error {
	switch {
	case c.BatchDelay < 1:
		return fmt.Errorf("OTEL_BSP_SCHEDULE_DELAY must be at least 1 (ms), got %d", c.BatchDelay)
	case c.QueueSize < 1:
		return fmt.Errorf("OTEL_BSP_MAX_QUEUE_SIZE must be at least 1, got %d", c.QueueSize)
	case c.BatchSize < 1 || c.BatchSize > c.QueueSize:
		return fmt.Errorf("OTEL_BSP_MAX_EXPORT_BATCH_SIZE must be from 1 to the queue size %d, got %d", c.QueueSize, c.BatchSize)
	}
	return nil
}

func (c *Settings) batchDelay() time.Duration { return time.Duration(c.BatchDelay) * time.Millisecond }

// parseAttributes reads OTEL_RESOURCE_ATTRIBUTES: comma-separated key=value pairs whose
// values may be percent-encoded.
func parseAttributes(s string) ([][2]string, error) {
	return parsePairs("OTEL_RESOURCE_ATTRIBUTES", s, false)
}

// parsePairs reads the variable name's comma-separated key=value pairs, whose values may
// be percent-encoded, as the OpenTelemetry variables that take several values write them.
// With secret set, errors say which entry is wrong instead of quoting it.
func parsePairs(name, s string, secret bool) ([][2]string, error) {
	var out [][2]string
	for i, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		which := strconv.Quote(pair)
		if secret {
			which = "entry " + strconv.Itoa(i+1)
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: %s: want key=value", name, which)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			if secret {
				return nil, fmt.Errorf("%s: %s: the value is not percent-encoded right", name, which)
			}
			return nil, fmt.Errorf("%s: %s: %w", name, which, err)
		}
		out = append(out, [2]string{k, dv})
	}
	return out, nil
}

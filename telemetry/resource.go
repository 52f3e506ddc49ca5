package telemetry

import (
	"os"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// newResource describes this process: service.name, service.instance.id (the Nomad
// allocation when there is one, else host-pid) and host.name, plus
// OTEL_RESOURCE_ATTRIBUTES. Given attributes win over computed ones, except that
// OTEL_SERVICE_NAME wins over a service.name among them, as the specification says.
//
// The SDK's telemetry.sdk.* attributes are left out: Jaeger's store keeps a copy of the
// resource with every trace, and three attributes that say the same thing on every span
// of every service were half of each copy.
func newResource(c Settings) (*resource.Resource, error) {
	given, err := parseAttributes(c.Attributes)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	instance := c.AllocID
	if instance == "" {
		instance = host + "-" + strconv.Itoa(os.Getpid())
	}
	attrs := []attribute.KeyValue{
		semconv.ServiceName(c.Service),
		semconv.ServiceInstanceID(instance),
		semconv.HostName(host),
	}
	for _, kv := range given {
		attrs = append(attrs, attribute.String(kv[0], kv[1]))
	}
	if c.ServiceName != "" {
		attrs = append(attrs, semconv.ServiceName(c.ServiceName))
	}
	// Later attributes with the same key win in a resource.
	return resource.NewWithAttributes(semconv.SchemaURL, attrs...), nil
}

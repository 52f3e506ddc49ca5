package testbed

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// Jaeger is a Jaeger v2 of the test's own: OTLP over HTTP in, traces in memory, the
// HTTP query API out, each on a free loopback port. It runs with the repo's
// lab/jaeger/config.yaml, the pipeline of the jaeger job, and the job's memory
// settings (max_traces, GOMEMLIMIT, GOGC), so a benchmark's Jaeger costs what the
// lab's does.
type Jaeger struct {
	OTLP  string // OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT
	Query string // query API base URL
	proc  *Proc
}

// StartJaeger starts Jaeger and waits until its query API answers.
func StartJaeger(t testing.TB) *Jaeger {
	t.Helper()
	bin := Tool(t, "jaeger")
	config := filepath.Join(Root(), "lab", "jaeger", "config.yaml")
	for attempt := 1; ; attempt++ {
		ports := FreePorts(t, 2)
		otlp, query := ports[0], ports[1]
		j := &Jaeger{
			OTLP:  fmt.Sprintf("http://127.0.0.1:%d", otlp),
			Query: fmt.Sprintf("http://127.0.0.1:%d", query),
		}
		j.proc = Start(t, "jaeger", []string{
			fmt.Sprintf("JAEGER_OTLP_HTTP=127.0.0.1:%d", otlp),
			fmt.Sprintf("JAEGER_QUERY_HTTP=127.0.0.1:%d", query),
			"JAEGER_QUERY_GRPC=127.0.0.1:0",
			"GOMEMLIMIT=384MiB", "GOGC=400", // max_traces: the config's default, the job's
			"JAEGER_LOG_LEVEL=warn",
		}, bin, "--config", "file:"+config)
		Within(30*time.Second, func() bool { return j.proc.Exited() || j.ready() })
		if j.ready() {
			return j
		}
		j.proc.Stop(5 * time.Second)
		if attempt == 3 { // a port taken between FreePort and Jaeger's bind: try others
			t.Fatalf("jaeger did not start:\n%s", j.proc.Tail(20))
		}
	}
}

// ready reports whether both the query API and the OTLP receiver answer.
func (j *Jaeger) ready() bool {
	for _, u := range []string{j.Query + "/api/services", j.OTLP + "/v1/traces"} {
		resp, err := http.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
	}
	return true
}

// Env is the environment that sends a service's spans to this Jaeger.
func (j *Jaeger) Env() []string {
	return []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + j.OTLP}
}

// Kill stops Jaeger at once, as a crash would.
func (j *Jaeger) Kill() { j.proc.Kill() }

// PID is Jaeger's process id.
func (j *Jaeger) PID() int { return j.proc.PID() }

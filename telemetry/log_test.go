package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

func TestLogLinesCarryTheSpan(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x0a, 0xf7, 0x65, 0x19}, SpanID: trace.SpanID{0xb7, 0xad}, TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	log.With("service", "worker").WithGroup("g").InfoContext(ctx, "in a span", "k", 1)
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var in, out map[string]any
	json.Unmarshal([]byte(lines[0]), &in)
	json.Unmarshal([]byte(lines[1]), &out)
	g, _ := in["g"].(map[string]any)
	if g["trace_id"] != sc.TraceID().String() || g["span_id"] != sc.SpanID().String() || in["service"] != "worker" {
		t.Errorf("line in a span: %s", lines[0])
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("line outside any span has a trace_id: %s", lines[1])
	}

	buf.Reset()
	text, _ := NewLogger(&buf, "text", "info")
	text.InfoContext(ctx, "hello")
	if !strings.Contains(buf.String(), "trace_id="+sc.TraceID().String()) {
		t.Errorf("text line: %s", buf.String())
	}
}

func TestTelemetryErrorsAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "json", "info")
	now := time.Unix(1000, 0)
	e := newErrorLog(log, 10*time.Second)
	e.now = func() time.Time { return now }
	for range 50 {
		e.Handle(errors.New("connection refused"))
		now = now.Add(100 * time.Millisecond)
	}
	// 5 s in: one line. Past 10 s: a second one, counting what it held back.
	now = now.Add(6 * time.Second)
	e.Handle(errors.New("connection refused"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 51 errors over 11 s:\n%s", len(lines), buf.String())
	}
	var second map[string]any
	json.Unmarshal([]byte(lines[1]), &second)
	if second["similar_errors_not_logged"] != float64(49) || second["level"] != "WARN" {
		t.Errorf("second line: %s", lines[1])
	}
}

package telemetry

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// This file serves the metrics at /metrics in Prometheus' text format: the OpenTelemetry
// instruments, read through a manual reader, named and labelled as the OpenTelemetry
// Prometheus exporter named them (every sample carries otel_scope_name,
// otel_scope_version and otel_scope_schema_url; the resource is the target_info
// metric), plus the Go runtime's and the process's own metrics as client_golang names
// them.

// promContentType is what client_golang answers for the text format.
const promContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// promHandler answers scrapes. reader is nil while telemetry is disabled: then only the
// runtime and process metrics are served.
type promHandler struct {
	reader  *sdkmetric.ManualReader
	runtime *runtimeMetrics

	mu  sync.Mutex // one scrape at a time: they share the buffers
	rm  metricdata.ResourceMetrics
	buf []byte
}

func newPromHandler(reader *sdkmetric.ManualReader) *promHandler {
	return &promHandler{reader: reader, runtime: newRuntimeMetrics()}
}

func (h *promHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fams := h.runtime.families(nil)
	if h.reader != nil {
		err := h.reader.Collect(r.Context(), &h.rm)
		switch {
		case errors.Is(err, sdkmetric.ErrReaderShutdown):
		case err != nil:
			otel.Handle(fmt.Errorf("metrics: %w", err))
			fallthrough
		default:
			fams = otelFamilies(&h.rm, fams)
		}
	}
	h.buf = appendFamilies(h.buf[:0], fams)
	w.Header().Set("Content-Type", promContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(h.buf)))
	if r.Method != http.MethodHead {
		w.Write(h.buf)
	}
	if cap(h.buf) > 4<<20 {
		h.buf = nil // a freak scrape should not pin its buffer
	}
	h.rm = metricdata.ResourceMetrics{}
}

// otelFamilies converts what the reader collected into families, appended to fams.
func otelFamilies(rm *metricdata.ResourceMetrics, fams []*family) []*family {
	byName := map[string]*family{}
	for _, f := range fams {
		byName[f.name] = f
	}
	if rm.Resource != nil && rm.Resource.Len() > 0 {
		labels, err := attributeLabels(*rm.Resource.Set(), nil)
		if err != nil {
			otel.Handle(fmt.Errorf("target_info: %w", err))
		} else {
			fams = append(fams, &family{name: "target_info", help: "Target metadata", typ: typeGauge,
				points: []point{{labels: labels, value: 1}}})
		}
	}
	for _, sm := range rm.ScopeMetrics {
		scope := []label{
			{"otel_scope_name", sm.Scope.Name},
			{"otel_scope_version", sm.Scope.Version},
			{"otel_scope_schema_url", sm.Scope.SchemaURL},
		}
		extra, err := attributeLabels(sm.Scope.Attributes, nil)
		if err != nil {
			otel.Handle(fmt.Errorf("metrics of %s: %w", sm.Scope.Name, err))
			continue
		}
		for _, l := range extra {
			if l.name != "name" && l.name != "version" && l.name != "schema_url" {
				scope = append(scope, label{"otel_scope_" + l.name, l.value})
			}
		}
		for _, m := range sm.Metrics {
			typ, kind := promType(m.Data)
			if typ == "" {
				continue // exponential histograms and summaries: no instrument here makes them
			}
			name, err := metricName(m.Name, m.Unit, kind)
			if err != nil {
				otel.Handle(err)
				continue
			}
			f := byName[name]
			switch {
			case f == nil:
				f = &family{name: name, help: m.Description, typ: typ}
				byName[name] = f
				fams = append(fams, f)
			case f.typ == typ:
			case typeRank[typ] > typeRank[f.typ]:
				otel.Handle(fmt.Errorf("metric %s: a %s clashes with %s %s of that name; dropped", name, f.typ, typ, m.Name))
				f.help, f.typ, f.points = m.Description, typ, nil
			default:
				otel.Handle(fmt.Errorf("metric %s: %s %s clashes with a %s of that name; dropped", name, typ, m.Name, f.typ))
				continue
			}
			if err := addPoints(f, m.Data, scope); err != nil {
				otel.Handle(fmt.Errorf("metric %s: %w", name, err))
			}
		}
	}
	return fams
}

// typeRank settles which type keeps a name two instruments share: the higher. The
// reader hands the scopes over in no fixed order (the SDK keeps them in a map), so
// "the first one seen" would change from scrape to scrape.
var typeRank = map[string]int{typeGauge: 1, typeHistogram: 2, typeCounter: 3}

// promType is the Prometheus type of an aggregation, and what its name depends on.
func promType(data metricdata.Aggregation) (string, nameKind) {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return sumType(d.IsMonotonic)
	case metricdata.Sum[float64]:
		return sumType(d.IsMonotonic)
	case metricdata.Gauge[int64], metricdata.Gauge[float64]:
		return typeGauge, nameGauge
	case metricdata.Histogram[int64], metricdata.Histogram[float64]:
		return typeHistogram, nameOther
	}
	return "", nameOther
}

// sumType: a monotonic sum is a counter; one that can go down is a gauge, though not
// one that gets _ratio.
func sumType(monotonic bool) (string, nameKind) {
	if monotonic {
		return typeCounter, nameCounter
	}
	return typeGauge, nameOther
}

func addPoints(f *family, data metricdata.Aggregation, scope []label) error {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return addValues(f, d.DataPoints, scope)
	case metricdata.Sum[float64]:
		return addValues(f, d.DataPoints, scope)
	case metricdata.Gauge[int64]:
		return addValues(f, d.DataPoints, scope)
	case metricdata.Gauge[float64]:
		return addValues(f, d.DataPoints, scope)
	case metricdata.Histogram[int64]:
		return addHistograms(f, d.DataPoints, scope)
	case metricdata.Histogram[float64]:
		return addHistograms(f, d.DataPoints, scope)
	}
	return nil
}

func addValues[N int64 | float64](f *family, dps []metricdata.DataPoint[N], scope []label) error {
	for _, dp := range dps {
		labels, err := attributeLabels(dp.Attributes, scope)
		if err != nil {
			return err
		}
		f.points = append(f.points, point{labels: labels, value: float64(dp.Value)})
	}
	return nil
}

func addHistograms[N int64 | float64](f *family, dps []metricdata.HistogramDataPoint[N], scope []label) error {
	for _, dp := range dps {
		labels, err := attributeLabels(dp.Attributes, scope)
		if err != nil {
			return err
		}
		p := point{labels: labels, sum: float64(dp.Sum), count: dp.Count, buckets: make([]bucket, len(dp.Bounds))}
		var cum uint64
		for i, bound := range dp.Bounds {
			if i < len(dp.BucketCounts) {
				cum += dp.BucketCounts[i]
			}
			p.buckets[i] = bucket{bound: bound, value: float64(cum)}
		}
		f.points = append(f.points, p)
	}
	return nil
}

// attributeLabels turns attributes into labels, followed by extra, sorted by name.
// Attributes whose keys become the same label name are joined into one label, their
// values sorted and separated by ";", as the specification asks.
func attributeLabels(set attribute.Set, extra []label) ([]label, error) {
	labels := make([]label, 0, set.Len()+len(extra))
	var dups map[string][]string // the values of a name that several keys became
	for it := set.Iter(); it.Next(); {
		kv := it.Attribute()
		name, err := labelName(string(kv.Key))
		if err != nil {
			return nil, err
		}
		value := kv.Value.String()
		if !utf8.ValidString(value) {
			value = strings.ToValidUTF8(value, "\uFFFD")
		}
		if i := slices.IndexFunc(labels, func(l label) bool { return l.name == name }); i >= 0 {
			if dups == nil {
				dups = map[string][]string{}
			}
			if dups[name] == nil {
				dups[name] = []string{labels[i].value}
			}
			dups[name] = append(dups[name], value)
			continue
		}
		labels = append(labels, label{name, value})
	}
	for i, l := range labels {
		if vs := dups[l.name]; vs != nil {
			slices.Sort(vs)
			labels[i].value = strings.Join(vs, ";")
		}
	}
	labels = append(labels, extra...)
	sortLabels(labels)
	return labels, nil
}

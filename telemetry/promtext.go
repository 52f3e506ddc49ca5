package telemetry

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file writes metric families in Prometheus' text exposition format 0.0.4, as
// client_golang's expfmt does: families sorted by name, each with HELP and TYPE, samples
// sorted by their label values, label pairs sorted by name, numbers in Go's shortest
// 'g' form.

// Prometheus metric types, as the TYPE line names them.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
	typeSummary   = "summary"
)

// family is one metric: its samples share a name, a type and a HELP text.
type family struct {
	name, help, typ string
	points          []point
}

// point is one sample of a family: a value for a counter or gauge; for a histogram its
// cumulative bucket counts (le) with sum and count; for a summary its quantiles.
type point struct {
	labels  []label // sorted by name
	value   float64
	buckets []bucket
	sum     float64
	count   uint64
}

// bucket is a histogram's cumulative count of values at most bound, or a summary's
// quantile bound and its value. A histogram's +Inf bucket is not among them: it is count.
type bucket struct {
	bound, value float64
}

type label struct{ name, value string }

// sortLabels orders a point's labels by name, as the format wants.
func sortLabels(ls []label) {
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
}

// appendFamilies writes fams, sorting them and their points first.
func appendFamilies(b []byte, fams []*family) []byte {
	slices.SortFunc(fams, func(x, y *family) int { return strings.Compare(x.name, y.name) })
	for _, f := range fams {
		if len(f.points) == 0 {
			continue
		}
		slices.SortStableFunc(f.points, comparePoints)
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = appendHelp(b, f.help)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.typ...)
		b = append(b, '\n')
		for i := range f.points {
			b = appendPoint(b, f, &f.points[i])
		}
	}
	return b
}

// comparePoints orders points by their label values, label by label, as client_golang's
// registry does.
func comparePoints(x, y point) int {
	for i := range min(len(x.labels), len(y.labels)) {
		if c := strings.Compare(x.labels[i].value, y.labels[i].value); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x.labels), len(y.labels))
}

func appendPoint(b []byte, f *family, p *point) []byte {
	switch f.typ {
	case typeHistogram:
		for _, bk := range p.buckets {
			b = appendSample(b, f.name, "_bucket", p.labels, "le", bk.bound, bk.value)
		}
		b = appendSample(b, f.name, "_bucket", p.labels, "le", math.Inf(1), float64(p.count))
		b = appendSample(b, f.name, "_sum", p.labels, "", 0, p.sum)
		return appendSample(b, f.name, "_count", p.labels, "", 0, float64(p.count))
	case typeSummary:
		for _, q := range p.buckets {
			b = appendSample(b, f.name, "", p.labels, "quantile", q.bound, q.value)
		}
		b = appendSample(b, f.name, "_sum", p.labels, "", 0, p.sum)
		return appendSample(b, f.name, "_count", p.labels, "", 0, float64(p.count))
	}
	return appendSample(b, f.name, "", p.labels, "", 0, p.value)
}

// appendSample writes one line: name and suffix, the labels plus an extra one (le or
// quantile) if extra is set, and the value.
func appendSample(b []byte, name, suffix string, labels []label, extra string, extraValue, v float64) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if len(labels) > 0 || extra != "" {
		b = append(b, '{')
		for i, l := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, l.name...)
			b = append(b, `="`...)
			b = appendLabelValue(b, l.value)
			b = append(b, '"')
		}
		if extra != "" {
			if len(labels) > 0 {
				b = append(b, ',')
			}
			b = append(b, extra...)
			b = append(b, `="`...)
			b = appendFloat(b, extraValue)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	return append(b, '\n')
}

// appendFloat writes a number as the text format does: +Inf, -Inf, NaN, else the
// shortest form that reads back the same.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendLabelValue escapes a label value: backslash, double quote and line feed.
func appendLabelValue(b []byte, s string) []byte { return appendEscaped(b, s, true) }

// appendHelp escapes a HELP text: backslash and line feed.
func appendHelp(b []byte, s string) []byte { return appendEscaped(b, s, false) }

// appendEscaped escapes backslashes and line feeds, and double quotes if quote is set.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

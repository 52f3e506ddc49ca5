package telemetry

import (
	"fmt"
	"slices"
	"strings"
)

// This file turns OpenTelemetry instrument and attribute names into Prometheus metric
// and label names the way the OpenTelemetry Prometheus exporter did (its default
// strategy, UnderscoreEscapingWithSuffixes, from prometheus/otlptranslator), so the
// names scrapers know stay the same: dots and other characters outside [a-zA-Z0-9:]
// become underscores, the unit is spelled out as a suffix (s: _seconds, By: _bytes,
// {span}: nothing), a monotonic sum ends in _total and a gauge of unit 1 in _ratio.

// promUnits spell out UCUM units as Prometheus suffixes.
var promUnits = map[string]string{
	"d": "days", "h": "hours", "min": "minutes", "s": "seconds",
	"ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
	"By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
	"KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
	"m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
	"Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}

// promPerUnits spell out the denominator of a rate unit such as By/s.
var promPerUnits = map[string]string{
	"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year",
}

// nameKind is what of a metric's kind its Prometheus name depends on.
type nameKind int

const (
	nameOther   nameKind = iota
	nameCounter          // a monotonic sum: _total
	nameGauge            // a gauge: _ratio when its unit is 1
)

// metricName is the Prometheus name of an instrument, or an error when nothing of the
// name is left.
func metricName(name, unit string, kind nameKind) (string, error) {
	tokens := strings.FieldsFunc(name, func(r rune) bool { return !isMetricNameChar(r) })
	main, per := unitSuffixes(unit)
	main, per = cleanUnit(main), cleanUnit(per)
	if slices.Contains(tokens, main) {
		main = ""
	}
	if per == "per_" {
		per = ""
	} else {
		per = strings.TrimSuffix(per, "_")
		if slices.Contains(tokens, per) {
			per = ""
		}
	}
	if per != "" {
		main = strings.TrimSuffix(main, "_")
	}
	if main != "" {
		tokens = append(tokens, main)
	}
	if per != "" {
		tokens = append(tokens, per)
	}
	if kind == nameCounter {
		tokens = append(slices.DeleteFunc(tokens, func(t string) bool { return t == "total" }), "total")
	}
	if unit == "1" && kind == nameGauge {
		tokens = append(slices.DeleteFunc(tokens, func(t string) bool { return t == "ratio" }), "ratio")
	}
	out := strings.Join(tokens, "_")
	if out != "" && out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	if out == "" || strings.Trim(out, "_") == "" && out != name {
		return "", fmt.Errorf("metric %q has no Prometheus name", name)
	}
	return out, nil
}

func isMetricNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':'
}

// unitSuffixes spells out a unit and its denominator (per_second); units in braces,
// such as {span}, are annotations and spell nothing.
func unitSuffixes(unit string) (main, per string) {
	m, p, hasPer := strings.Cut(unit, "/")
	if m = strings.TrimSpace(m); m != "" && !strings.ContainsAny(m, "{}") {
		main = lookupOr(promUnits, m)
	}
	if p = strings.TrimSpace(p); hasPer && p != "" && !strings.ContainsAny(p, "{}") {
		if per = lookupOr(promPerUnits, p); per != "" {
			per = "per_" + per
		}
	}
	return main, per
}

func lookupOr(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// cleanUnit makes a unit suffix a valid part of a name: other characters become one
// underscore, and a leading one goes.
func cleanUnit(u string) string {
	var b strings.Builder
	under := false
	for _, r := range u {
		if !isMetricNameChar(r) {
			if !under {
				b.WriteByte('_')
			}
			under = true
			continue
		}
		b.WriteRune(r)
		under = false
	}
	return strings.TrimPrefix(b.String(), "_")
}

// labelName is the Prometheus name of an attribute key: characters outside
// [a-zA-Z0-9] become one underscore, a leading digit gets "key_" before it, and a key
// wrapped in double underscores keeps them.
func labelName(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("empty attribute key")
	}
	inner, reserved := key, false
	if len(key) >= 4 && strings.HasPrefix(key, "__") && strings.HasSuffix(key, "__") {
		inner, reserved = key[2:len(key)-2], true
	}
	var b strings.Builder
	b.Grow(len(key) + 4)
	if reserved {
		b.WriteString("__")
	}
	under := false
	for _, r := range inner {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	if reserved {
		b.WriteString("__")
	}
	out := b.String()
	if out[0] >= '0' && out[0] <= '9' {
		out = "key_" + out
	}
	if strings.Trim(out, "_") == "" {
		return "", fmt.Errorf("attribute key %q has no Prometheus label name", key)
	}
	return out, nil
}

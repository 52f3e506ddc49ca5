package platform

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactKeepsTheReasonAndDropsTheAddress(t *testing.T) {
	for in, want := range map[string]string{
		"dial tcp 10.199.0.12:6379: connect: connection refused":                            "dial tcp <address>: connect: connection refused",
		`Get "http://127.0.0.1:16686/api/traces?service=worker": context deadline exceeded`: `Get "<address>": context deadline exceeded`,
		"dial tcp [fd00::12]:8001: i/o timeout":                                             "dial tcp <address>: i/o timeout",
		"redis at 7f000001.addr.dc1.consul:6379: EOF":                                       "redis at <address>: EOF",
		"read tcp 127.0.0.1:8002->127.0.0.1:51234: read: connection reset by peer":          "read tcp <address>-><address>: read: connection reset by peer",
		"connection refused": "connection refused",
		"OOM command not allowed when used memory > 'maxmemory'": "OOM command not allowed when used memory > 'maxmemory'",
	} {
		got := Redact(errors.New(in))
		t.Logf("%q -> %q", in, got)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "127.0.0.1") || strings.Contains(got, "10.199") {
			t.Errorf("an address is left in %q", got)
		}
	}
	if Redact(nil) != "" {
		t.Error("Redact(nil) is not empty")
	}
}

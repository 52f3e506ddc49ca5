package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Bad command lines are usage errors (exit 2), found before anything is contacted:
// NOMAD_ADDR points nowhere, so a request that got through would fail otherwise.
func TestUsageErrors(t *testing.T) {
	getenv := func(k string) string {
		if k == "NOMAD_ADDR" {
			return "http://127.0.0.1:1"
		}
		return ""
	}
	for _, args := range [][]string{
		{},
		{"mine"},
		{"scale"},
		{"scale", "worker"},
		{"scale", "miner", "3"},
		{"scale", "redis", "3"},
		{"scale", "worker", "-1"},
		{"scale", "worker", "many"},
		{"scale", "worker", "3", "4"},
		{"status", "now"},
		{"up", "-mesh=maybe"},
		{"up", "extra"},
		{"cluster"},
		{"cluster", "sideways"},
		{"cluster", "up", "-nodes", "0"},
		{"cluster", "up", "-nodes", "51"},
		{"cluster", "down", "-nodes", "3"},
		{"intentions", "x"},
		{"compose-secrets"},
		{"compose-secrets", "-redis-addr", "redis:6379"},
		{"compose-secrets", "-redis-addr", "10.0.0.1:0"},
		{"compose-secrets", "-redis-addr", "10.0.0.1:6379", "-app-uid", "-2"},
		{"compose-secrets", "-redis-addr", "10.0.0.1:6379", "extra"},
		{"compose-token", "extra"},
		{"secrets", "extra"},
		{"secrets", "-scaling=maybe"},
		{"lab-token"},
		{"lab-token", "vault"},
		{"lab-token", "nomad", "extra"},
		{"lab-acl"},
		{"lab-acl", "vault"},
		{"lab-acl", "consul", "extra"},
		{"lab-acl", "-file", "x", "nomad"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("dockercoins %s: %v (exit %d), want a usage error", strings.Join(args, " "), err, exitCode(err))
		}
	}
}

func TestScaleNeedsNomad(t *testing.T) {
	getenv := func(k string) string {
		if k == "NOMAD_ADDR" {
			return "http://127.0.0.1:1"
		}
		return ""
	}
	err := run(context.Background(), []string{"scale", "worker", "3"}, getenv, new(bytes.Buffer))
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "no Nomad at http://127.0.0.1:1") {
		t.Fatalf("scale without a Nomad: %v (exit %d)", err, exitCode(err))
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"up", "down", "scale", "status", "cluster up", "cluster down", "intentions"} {
		if !strings.Contains(out.String(), "  "+cmd+" ") {
			t.Errorf("help does not list %q:\n%s", cmd, out.String())
		}
	}
}

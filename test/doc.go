// Package test holds DockerCoins' end-to-end tests: the real service binaries against a
// real Redis (and, in later files, Consul, Nomad and Jaeger), started by the tests
// themselves through package testbed.
package test

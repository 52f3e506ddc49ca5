package test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// instance is an HTTP server whose answer to the health check can be switched.
type instance struct {
	srv     *httptest.Server
	failing atomic.Bool
}

// startInstance serves on ip (any 127.0.0.0/8 address works on Linux's lo).
func startInstance(t *testing.T, ip string) *instance {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{}
	in.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in.failing.Load() {
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
		}
	})}}
	in.srv.Start()
	t.Cleanup(in.srv.Close)
	return in
}

func (in *instance) addr() string { return in.srv.Listener.Addr().String() }

// register registers in as an instance of name with an HTTP check every second.
func register(t *testing.T, c *testbed.Consul, name string, in *instance) {
	host, port, _ := net.SplitHostPort(in.addr())
	p, _ := strconv.Atoi(port)
	err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: name + "-" + in.addr(), Name: name, Address: host, Port: p,
		Check: &api.AgentServiceCheck{HTTP: "http://" + in.addr() + "/", Interval: "1s", Timeout: "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func resolves(t *testing.T, d *peer.DNS, service string, want []string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := d.Resolve(ctx, service)
	return err == nil && slices.Equal(got, want)
}

func TestDNSFindsEveryHealthyInstanceAndSkipsFailingOnes(t *testing.T) {
	c := testbed.StartConsul(t)
	// Two instances share 127.0.0.1; the others each have an address of their own, so
	// every <hex ip>.addr target must resolve to its own IP.
	var healthy []*instance
	for _, ip := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		healthy = append(healthy, startInstance(t, ip))
	}
	bad := startInstance(t, "127.0.0.4")
	bad.failing.Store(true)
	var want []string
	for _, in := range healthy {
		register(t, c, "web", in)
		want = append(want, in.addr())
	}
	register(t, c, "web", bad)
	slices.Sort(want)

	testbed.Eventually(t, 10*time.Second, "consul dns to answer the %d healthy instances", func() bool {
		return resolves(t, &peer.DNS{Server: c.DNSAddr}, "web", want) // a new cache every time
	}, len(want))
	if got := len(c.Passing("web")); got != len(want) {
		t.Fatalf("consul says %d instances pass, want %d", got, len(want))
	}

	// A cached answer follows the checks: the failing instance recovers, a healthy one
	// starts failing.
	d := &peer.DNS{Server: c.DNSAddr, TTL: 100 * time.Millisecond}
	if !resolves(t, d, "web", want) {
		t.Fatal("cached resolver: wrong first answer")
	}
	bad.failing.Store(false)
	healthy[2].failing.Store(true)
	want = slices.DeleteFunc(append(want, bad.addr()), func(a string) bool { return a == healthy[2].addr() })
	slices.Sort(want)
	testbed.Eventually(t, 10*time.Second, "the cached answer to follow the checks: %v", func() bool {
		return resolves(t, d, "web", want)
	}, want)

	// The agent goes away: the last good answer is kept, not replaced by an error.
	c.Stop()
	time.Sleep(300 * time.Millisecond) // past the TTL: the next requests refresh
	for range 3 {
		if !resolves(t, d, "web", want) {
			t.Fatal("with the agent down the last good answer was not kept")
		}
		time.Sleep(150 * time.Millisecond)
	}
	// A resolver that never had an answer says why.
	_, err := (&peer.DNS{Server: c.DNSAddr}).Resolve(context.Background(), "web")
	if err == nil {
		t.Fatal("a fresh resolver with the agent down answered without error")
	}
	t.Logf("agent down: %v", err)
}

// changesAfter registers change, then asks d every Poll until its answer for service
// is want, and returns how long the old answer was kept from first, the time just
// before the first lookup that gave it.
func changesAfter(t *testing.T, d *peer.DNS, service string, first time.Time, change func(), want []string) time.Duration {
	t.Helper()
	change()
	testbed.Eventually(t, 20*time.Second, "the answer for %s to become %v", func() bool {
		return resolves(t, d, service, want)
	}, service, want)
	return time.Since(first)
}

func TestDNSHonoursTheAgentsTTLOverTCPToo(t *testing.T) {
	c := testbed.StartConsul(t, "-hcl", `dns_config { service_ttl { "*" = "7s" } }`)
	// Forty instances do not fit in a udp answer, which Consul trims without a word: all
	// forty must come back.
	var want []string
	add := func(i int) {
		port := 20000 + i
		err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: fmt.Sprintf("many-%d", i), Name: "many", Address: "127.0.0.9", Port: port,
		})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("127.0.0.9:%d", port))
		slices.Sort(want)
	}
	for i := range 40 {
		add(i)
	}
	testbed.Eventually(t, 10*time.Second, "all 40 instances in one answer", func() bool {
		return resolves(t, &peer.DNS{Server: c.DNSAddr}, "many", want) // a new cache every time
	})

	// The cache keeps the answer for the agent's TTL, not the shorter floor: a 41st
	// instance shows about 7s after the first answer.
	d := &peer.DNS{Server: c.DNSAddr, TTL: 100 * time.Millisecond}
	first := time.Now()
	if !resolves(t, d, "many", want) {
		t.Fatal("wrong answer")
	}
	more := slices.Sorted(slices.Values(append(slices.Clone(want), "127.0.0.9:20040")))
	kept := changesAfter(t, d, "many", first, func() { add(40) }, more)
	t.Logf("answer kept for %v", kept)
	if kept < 6*time.Second || kept > 8*time.Second {
		t.Fatalf("answer kept for %v, want about the agent's 7s", kept)
	}
}

func TestDNSFloorAppliesToConsulsDefaultTTL(t *testing.T) {
	c := testbed.StartConsul(t)
	in := startInstance(t, "127.0.0.1")
	register(t, c, "one", in)
	testbed.Eventually(t, 10*time.Second, "the instance to pass", func() bool {
		return resolves(t, &peer.DNS{Server: c.DNSAddr}, "one", []string{in.addr()})
	})
	// Consul answers with TTL 0; the answer is kept for the floor all the same: a second
	// instance shows about 3s after the first answer.
	d := &peer.DNS{Server: c.DNSAddr, TTL: 3 * time.Second}
	first := time.Now()
	if !resolves(t, d, "one", []string{in.addr()}) {
		t.Fatal("wrong answer")
	}
	second := "127.0.0.9:20001"
	kept := changesAfter(t, d, "one", first, func() {
		err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "one-b", Name: "one", Address: "127.0.0.9", Port: 20001})
		if err != nil {
			t.Fatal(err)
		}
	}, slices.Sorted(slices.Values([]string{in.addr(), second})))
	t.Logf("answer kept for %v", kept)
	if kept < 2*time.Second || kept > 4*time.Second {
		t.Fatalf("answer with TTL 0 kept for %v, want the 3s floor", kept)
	}
	_, err := d.Resolve(context.Background(), "nosuchservice")
	if err == nil || !strings.Contains(err.Error(), "no healthy instance of nosuchservice") {
		t.Fatalf("unknown service: err %v, want no healthy instance", err)
	}
}

// TestConsulDNSMarksAnAnswerTooBigForUDP asks the stacks' Consul DNS (lab.DevDNSConfig,
// as lab/consul/agent.hcl) for 200 instances, as dig does: over UDP the answer either
// holds them all or sets the truncated bit, so the asker retries over TCP, where all 200
// come back. Without enable_truncate Consul returned 25 and no bit.
func TestConsulDNSMarksAnAnswerTooBigForUDP(t *testing.T) {
	c := testbed.StartConsul(t, "-hcl", lab.DevDNSConfig)
	const n = 200
	for i := range n {
		err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: fmt.Sprintf("w-%d", i), Name: "w", Address: "127.0.0.9", Port: 20000 + i,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var tcp testbed.DigAnswer
	testbed.Eventually(t, 10*time.Second, "all %d instances over TCP", func() bool {
		tcp = testbed.Dig(t, c.DNSAddr, "w.service.consul", "tcp")
		return tcp.Records == n
	}, n)
	udp := testbed.Dig(t, c.DNSAddr, "w.service.consul", "udp")
	t.Logf("over UDP: %d records, truncated %v; over TCP: %d", udp.Records, udp.Truncated, tcp.Records)
	if udp.Records < n && !udp.Truncated {
		t.Fatalf("over UDP %d of %d instances and no truncated bit: a resolver would take them for all", udp.Records, n)
	}
}

package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// logBuffer collects JSON log lines written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many lines have msg starting with prefix.
func (b *logBuffer) count(prefix string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, line := range strings.Split(b.buf.String(), "\n") {
		var m struct{ Msg string }
		if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(m.Msg, prefix) {
			n++
		}
	}
	return n
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog(t *testing.T) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", b)
		}
	})
	return slog.New(slog.NewJSONHandler(b, nil)), b
}

func TestRegistrationFollowsTheAgentAndEndsWithTheService(t *testing.T) {
	c := testbed.StartConsul(t)
	in := startInstance(t, "127.0.0.1")
	log, logs := newLog(t)
	reg := Registration{Enabled: true, ConsulHTTP: c.HTTPAddr}
	r, err := reg.Start(log, "web", in.srv.Listener.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	id := "web-" + strings.ReplaceAll(in.addr(), ":", "-")
	testbed.Eventually(t, 10*time.Second, "the service ID to be %s", func() bool { return r.ID() == id }, id)
	c.WaitPassing("web", 10*time.Second, id)

	svc, _, err := c.Client.Agent().Service(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s:%d", svc.Address, svc.Port); got != in.addr() {
		t.Fatalf("registered at %s, want %s", got, in.addr())
	}
	// What was asked for: the agent's API shows neither the check's URL nor its
	// deregistration delay back.
	if ch := r.reg.Load().Check; ch.HTTP != "http://"+in.addr()+"/" || ch.Method != "GET" || ch.DeregisterCriticalServiceAfter != "1m0s" {
		t.Fatalf("check asked for: %+v", ch)
	}
	// What the agent runs: an http check every second.
	resp, err := http.Get("http://" + c.HTTPAddr + "/v1/agent/checks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var checks map[string]struct{ ServiceID, Type, Interval, Status string }
	if err := json.NewDecoder(resp.Body).Decode(&checks); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ch := range checks {
		if ch.ServiceID == id {
			found = true
			if ch.Type != "http" || ch.Interval != "1s" || ch.Status != "passing" {
				t.Fatalf("agent runs check %+v, want a passing http check every 1s", ch)
			}
		}
	}
	if !found {
		t.Fatal("no check registered with the service")
	}

	// A dev agent forgets everything when it restarts; the registrar puts it back.
	c.Restart()
	restarted := time.Now()
	c.WaitPassing("web", 10*time.Second, id)
	t.Logf("registered and passing again %v after the agent was back", time.Since(restarted).Round(10*time.Millisecond))
	if n := logs.count("consul agent lost this service"); n != 1 {
		t.Fatalf("logged the lost registration %d times, want 1", n)
	}

	r.Stop()
	if _, _, err := c.Client.Agent().Service(id, nil); !isNotFound(err) {
		t.Fatalf("after Stop the agent still has the service (err %v)", err)
	}
	if logs.count("deregistered from consul") != 1 {
		t.Fatal("no deregistration logged")
	}
}

func TestRegistrationWaitsForConsul(t *testing.T) {
	c := testbed.NewConsul(t) // ports chosen, nothing running yet
	in := startInstance(t, "127.0.0.1")
	log, logs := newLog(t)
	reg := Registration{Enabled: true, ConsulHTTP: c.HTTPAddr}
	r, err := reg.Start(log, "web", in.srv.Listener.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	msg := "consul unreachable at " + c.HTTPAddr + ", retrying"
	testbed.Eventually(t, 10*time.Second, "two logged retries", func() bool { return logs.count(msg) >= 2 })

	c.Start()
	c.WaitPassing("web", 10*time.Second, "web-"+strings.ReplaceAll(in.addr(), ":", "-"))
	if logs.count("registered in consul") != 1 {
		t.Fatal("registration not logged")
	}
}

func TestRegistrationStopsWhileConsulIsDown(t *testing.T) {
	c := testbed.NewConsul(t)
	log, _ := newLog(t)
	r, err := (&Registration{Enabled: true, ConsulHTTP: c.HTTPAddr}).Start(log, "web", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	done := make(chan struct{})
	go func() { r.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Stop hangs while consul is down")
	}
}

// TestNoRegistration checks the cases where a service must not register: under Nomad
// and when switched off. The "agent" is a server that counts every request.
func TestNoRegistration(t *testing.T) {
	var calls atomic.Int64
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer agent.Close()
	listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8001}
	for _, tc := range []struct {
		name string
		reg  Registration
		msg  string
	}{
		{"nomad", Registration{Enabled: true, NomadAlloc: "5b2c3a1e", ConsulHTTP: agent.URL}, "running under nomad"},
		{"off", Registration{Enabled: false, ConsulHTTP: agent.URL}, "consul registration is off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := newLog(t)
			r, err := tc.reg.Start(log, "rng", listen)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			r.Stop()
			if n := calls.Load(); n != 0 {
				t.Fatalf("%d calls to the agent", n)
			}
			if logs.count(tc.msg) != 1 {
				t.Fatalf("want one log line %q", tc.msg)
			}
		})
	}
}

func TestAdvertisedAddress(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, tc := range []struct {
		setting, listen, consul, want, err string
	}{
		{"", "127.0.0.1:8001", "10.0.0.1:8500", "127.0.0.1:8001", ""},
		{"", "10.1.2.3:8001", "127.0.0.1:8500", "10.1.2.3:8001", ""},
		{"", "0.0.0.0:8001", "127.0.0.1:8500", "127.0.0.1:8001", ""},
		{"", "[::]:8001", "http://127.0.0.1:8500", "127.0.0.1:8001", ""},
		{"", "[::]:8001", "127.0.0.1", "127.0.0.1:8001", ""},
		{"", "0.0.0.0:8001", "unix:///run/consul.sock", "127.0.0.1:8001", ""},
		{"10.9.9.9", "0.0.0.0:8001", "127.0.0.1:8500", "10.9.9.9:8001", ""},
		{"10.9.9.9:9000", "0.0.0.0:8001", "127.0.0.1:8500", "10.9.9.9:9000", ""},
		{"[fd00::1]:9000", "0.0.0.0:8001", "127.0.0.1:8500", "[fd00::1]:9000", ""},
		{"fd00::1", "0.0.0.0:8001", "127.0.0.1:8500", "[fd00::1]:8001", ""},
		{"rng.example.com", "0.0.0.0:8001", "127.0.0.1:8500", "", "want a specific IP"},
		{"0.0.0.0", "0.0.0.0:8001", "127.0.0.1:8500", "", "want a specific IP"},
		{"10.9.9.9:0", "0.0.0.0:8001", "127.0.0.1:8500", "", "port must be"},
		{"10.9.9.9:http", "0.0.0.0:8001", "127.0.0.1:8500", "", "port must be"},
		{"", "0.0.0.0:8001", "127.0.0.1:99999", "", "toward the agent"},
	} {
		got, err := advertised(tc.setting, tcp(tc.listen), tc.consul)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q listening on %s, agent %s: err %v, want %q", tc.setting, tc.listen, tc.consul, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q listening on %s, agent %s: %v", tc.setting, tc.listen, tc.consul, err)
		case got != tc.want:
			t.Errorf("%q listening on %s, agent %s: %s, want %s", tc.setting, tc.listen, tc.consul, got, tc.want)
		}
	}
	if _, err := newAdvertise("", &net.UnixAddr{Name: "/tmp/x", Net: "unix"}); err == nil {
		t.Error("a unix listener was advertised")
	}
}

// An agent on another network (a container's, say) gets the address this host has
// on that network: here, toward each of this host's own non-loopback addresses.
func TestAdvertisedAddressTowardARemoteAgent(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	tried := 0
	for _, a := range addrs {
		ip := a.(*net.IPNet).IP
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		tried++
		agent := net.JoinHostPort(ip.String(), "8500")
		got, err := advertised("", &net.TCPAddr{IP: net.IPv4zero, Port: 8001}, agent)
		if want := net.JoinHostPort(ip.String(), "8001"); err != nil || got != want {
			t.Errorf("agent at %s: registered %s (%v), want %s", agent, got, err, want)
		}
	}
	if tried == 0 {
		t.Skip("this host has no address but loopback")
	}
}

func advertised(setting string, listen net.Addr, consul string) (string, error) {
	a, err := newAdvertise(setting, listen)
	if err != nil {
		return "", err
	}
	host, port, err := a.resolve(context.Background(), consul)
	return net.JoinHostPort(host, fmt.Sprint(port)), err
}

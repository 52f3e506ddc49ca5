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

	"github.com/dockercoins/dockercoins/peer/peertest"
)

// logBuffer collects JSON log lines written from several goroutines.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{} // signalled after each write
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		select {
		case b.wrote <- struct{}{}:
		default:
		}
	}()
	return b.buf.Write(p)
}

// await waits up to d for a line whose msg starts with prefix.
func (b *logBuffer) await(t *testing.T, prefix string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for b.count(prefix) == 0 {
		select {
		case <-b.wrote:
		case <-timeout:
			t.Fatalf("no %q logged within %v", prefix, d)
		}
	}
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
	b := &logBuffer{wrote: make(chan struct{}, 1)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", b)
		}
	})
	return slog.New(slog.NewJSONHandler(b, nil)), b
}

// TestRegistrationAsksForAnHTTPCheck reads what the registrar sends to a fake agent:
// the agent's API does not show a check's URL nor its deregistration delay back.
func TestRegistrationAsksForAnHTTPCheck(t *testing.T) {
	type registration struct {
		ID, Name, Address string
		Port              int
		Check             struct{ HTTP, Method, Interval, Timeout, DeregisterCriticalServiceAfter string }
		Connect           *struct{ Native bool }
	}
	for _, native := range []bool{false, true} {
		t.Run(fmt.Sprintf("native=%v", native), func(t *testing.T) {
			got := make(chan registration, 10)
			agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && r.URL.Path == "/v1/agent/service/register" {
					var reg registration
					if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
						t.Errorf("registration body: %v", err)
					}
					if r.URL.Query().Get("replace-existing-checks") != "true" {
						t.Errorf("registered without replace-existing-checks: %s", r.URL)
					}
					got <- reg
				}
			}))
			defer agent.Close()
			log, logs := newLog(t)
			listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8001}
			r, err := (&Registration{Enabled: true, ConsulHTTP: agent.URL}).Start(log, "web", listen, native)
			if err != nil {
				t.Fatal(err)
			}
			var reg registration
			select {
			case reg = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("nothing registered")
			}
			logs.await(t, "registered in consul", 5*time.Second)
			r.Stop()
			scheme := "http"
			if native {
				scheme = "https"
			}
			if reg.ID != "web-127.0.0.1-8001" || reg.Name != "web" || reg.Address != "127.0.0.1" || reg.Port != 8001 {
				t.Fatalf("registered %+v", reg)
			}
			if r.ID() != reg.ID {
				t.Fatalf("ID() = %q, registered %q", r.ID(), reg.ID)
			}
			ch := reg.Check
			if ch.HTTP != scheme+"://127.0.0.1:8001/healthz" || ch.Method != "GET" || ch.Interval != "1s" || ch.Timeout != "1s" || ch.DeregisterCriticalServiceAfter != "1m0s" {
				t.Fatalf("check asked for: %+v", ch)
			}
			if native != (reg.Connect != nil && reg.Connect.Native) {
				t.Fatalf("connect block %+v for native=%v", reg.Connect, native)
			}
			if logs.count("registered in consul") != 1 || logs.count("deregistered from consul") != 1 {
				t.Fatal("registration or deregistration not logged")
			}
		})
	}
}

func TestRegistrationStopsWhileConsulIsDown(t *testing.T) {
	log, _ := newLog(t)
	r, err := (&Registration{Enabled: true, ConsulHTTP: peertest.DeadAddr(t)}).Start(log, "web", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, false)
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
			r, err := tc.reg.Start(log, "rng", listen, false)
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

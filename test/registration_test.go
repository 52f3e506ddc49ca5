package test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// registerWeb starts an instance of a service "web" and registers it with the agent c,
// as a service does itself; the registration stops when the test ends.
func registerWeb(t *testing.T, c *testbed.Consul) (*instance, *consul.Registrar, *testbed.Log) {
	t.Helper()
	in := startInstance(t, "127.0.0.1")
	log, logs := testbed.NewLogger(t, "registration")
	reg := consul.Registration{Enabled: true, ConsulHTTP: c.HTTPAddr}
	r, err := reg.Start(log, "web", in.srv.Listener.Addr(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return in, r, logs
}

func TestRegistrationFollowsTheAgentAndEndsWithTheService(t *testing.T) {
	c := testbed.StartConsul(t)
	in, r, logs := registerWeb(t, c)
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
	// What the agent runs: an http check every second. (What was asked for, the check's
	// URL and deregistration delay, which the agent does not show back, is checked
	// against a fake agent in package consul.)
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
	if n := len(logs.Events("consul agent lost this service (restarted?); registering again")); n != 1 {
		t.Fatalf("logged the lost registration %d times, want 1", n)
	}

	r.Stop()
	var se api.StatusError
	if _, _, err := c.Client.Agent().Service(id, nil); !errors.As(err, &se) || se.Code != http.StatusNotFound {
		t.Fatalf("after Stop the agent still has the service (err %v)", err)
	}
	if len(logs.Events("deregistered from consul")) != 1 {
		t.Fatal("no deregistration logged")
	}
}

func TestRegistrationWaitsForConsul(t *testing.T) {
	c := testbed.NewConsul(t) // ports chosen, nothing running yet
	in, _, logs := registerWeb(t, c)
	msg := "consul unreachable at " + c.HTTPAddr + ", retrying"
	testbed.Eventually(t, 10*time.Second, "two logged retries", func() bool { return len(logs.Events(msg)) >= 2 })

	c.Start()
	c.WaitPassing("web", 10*time.Second, "web-"+strings.ReplaceAll(in.addr(), ":", "-"))
	if len(logs.Events("registered in consul")) != 1 {
		t.Fatal("registration not logged")
	}
}

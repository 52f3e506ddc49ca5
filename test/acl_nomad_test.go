package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/lab"
	"github.com/dockercoins/dockercoins/nomad"
	"github.com/dockercoins/dockercoins/test/testbed"
	"github.com/hashicorp/nomad/api"
)

// TestNomadACLsOnACluster tries, on the lab of `make cluster`, what someone who reaches
// Nomad's API would: anonymously, with the web UI's token (which the running web UI
// reads from its variable), and with the operator's management token. Each try is
// logged with Nomad's answer.
func TestNomadACLsOnACluster(t *testing.T) {
	cl := testbed.StartNomadCluster(t, 1)
	s := cl.Stack
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	vars := lab.QuickVars()
	vars["webui_scaling"] = "true"
	app := lab.App{Root: testbed.Root(), BinDir: filepath.Dir(testbed.Binary(t, "worker")), Tools: testbed.Tools(t),
		Jobs: []string{"redis", "dockercoins"}, Vars: vars}
	if err := lab.Deploy(ctx, s, app); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(cl.Lab.State, lab.NomadTokenFile)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: mode %v", file, st.Mode().Perm())
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the management token's file has mode %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != s.NomadACL.Management || s.NomadACL.Management == "" {
		t.Errorf("the token file does not hold the stack's management token")
	}
	webuiToken := func(t *testing.T) string {
		v, _, err := s.Nomad.API().Variables().Read("nomad/jobs/dockercoins/webui", nil)
		if err != nil {
			t.Fatal(err)
		}
		return v.Items["nomad_token"]
	}
	scaleToken := webuiToken(t)
	if scaleToken == "" || scaleToken == s.NomadACL.Management {
		t.Fatalf("the web UI's variable holds no token of its own (%q)", scaleToken)
	}
	probe, err := json.Marshal(api.JobRegisterRequest{Job: rawExecJob()})
	if err != nil {
		t.Fatal(err)
	}
	base := cl.NomadAddr + "/v1/"
	// A try is one request to Nomad's API as who, with the status it must get.
	type try struct {
		who, token, method, path string
		body                     []byte
		want                     int
	}
	check := func(t *testing.T, tries ...try) {
		t.Helper()
		for _, tr := range tries {
			code, body := nomadRequest(t, tr.method, base+tr.path, tr.token, tr.body)
			what := firstLine(body)
			if code == 200 {
				what = fmt.Sprintf("(%d bytes)", len(body)) // it may hold secrets
			}
			t.Logf("%s %s as %s: %d %s", tr.method, tr.path, tr.who, code, what)
			if code != tr.want {
				t.Errorf("%s %s as %s: %d, want %d", tr.method, tr.path, tr.who, code, tr.want)
			}
		}
	}

	t.Run("anonymous", func(t *testing.T) {
		check(t,
			try{"anonymous", "", "GET", "jobs", nil, 403},
			try{"anonymous", "", "GET", "job/dockercoins", nil, 403},
			try{"anonymous", "", "PUT", "jobs", probe, 403},
			try{"anonymous", "", "GET", "var/nomad/jobs/redis/redis", nil, 403},
			try{"anonymous", "", "GET", "nodes", nil, 403},
			try{"anonymous", "", "GET", "agent/self", nil, 403},
		)
		// The nomad CLI an operator would use: refused without a token, fine with the
		// file's (what `make cluster` tells to export).
		cli := func(token string) (string, error) {
			cmd := exec.Command(testbed.Tool(t, "nomad"), "job", "status")
			cmd.Env = append(os.Environ(), "NOMAD_ADDR="+cl.NomadAddr, "NOMAD_TOKEN="+token)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := cli("")
		t.Logf("nomad job status without NOMAD_TOKEN: %v: %s", err, firstLine(out))
		if err == nil || !strings.Contains(out, "403") {
			t.Errorf("nomad job status without a token: %v, %q; want refused (403)", err, out)
		}
		b, _ := os.ReadFile(file)
		out, err = cli(strings.TrimSpace(string(b)))
		t.Logf("nomad job status with NOMAD_TOKEN=$(cat %s): %v\n%s", filepath.Base(file), err, out)
		if err != nil || !strings.Contains(out, "dockercoins") {
			t.Errorf("nomad job status with the management token: %v, %q", err, out)
		}
	})

	t.Run("web UI token, scaling on", func(t *testing.T) {
		check(t,
			try{"the web UI", scaleToken, "GET", "job/dockercoins", nil, 200},
			try{"the web UI", scaleToken, "GET", "job/dockercoins/scale", nil, 200},
			try{"the web UI", scaleToken, "PUT", "jobs", probe, 403},
			try{"the web UI", scaleToken, "GET", "var/nomad/jobs/redis/redis", nil, 403},
			try{"the web UI", scaleToken, "GET", "var/nomad/jobs/dockercoins/worker", nil, 403},
			try{"the web UI", scaleToken, "GET", "var/nomad/jobs/dockercoins/webui", nil, 403},
			try{"the web UI", scaleToken, "GET", "nodes", nil, 403},
		)
		// The token reaches the task through its variable, not the job's specification,
		// which every token that reads the job reads.
		if _, spec := nomadRequest(t, "GET", base+"job/dockercoins", s.NomadACL.Management, nil); strings.Contains(spec, scaleToken) {
			t.Error("the web UI's Nomad token is in the job's specification")
		} else {
			t.Log("the web UI's Nomad token is not in the job's specification")
		}
		// The running web UI holds that token: it reads the job and scales it.
		webuis := waitRunning(t, cl.Nomad, "webui", 1)
		page := "http://" + webuis[0].Addrs["http"]
		var nomadErr any
		testbed.Eventually(t, 30*time.Second, "the web UI to read the job's counts from Nomad (nomad_error %v)", func() bool {
			code, p := getJSON(t, page+"/placement")
			nomadErr = p["nomad_error"]
			gs, _ := p["groups"].([]any)
			return code == 200 && nomadErr == nil && len(gs) > 0 && gs[0].(map[string]any)["wanted"] != nil
		}, &nomadErr)
		t.Logf("GET %s/placement: the web UI read the job's counts and allocations with its token", page)
		code, body := postJSON(t, page+"/scale", `{"group":"worker","delta":1}`)
		t.Logf("POST %s/scale worker +1: %d %s", page, code, firstLine(body))
		if code != 200 {
			t.Fatalf("scaling from the page with the web UI's token: %d %s", code, body)
		}
		waitRunning(t, cl.Nomad, "worker", 2)
	})

	t.Run("web UI token, scaling off", func(t *testing.T) {
		vars["webui_scaling"] = "false"
		if err := lab.Deploy(ctx, s, app); err != nil {
			t.Fatal(err)
		}
		readToken := webuiToken(t)
		if readToken == "" || readToken == scaleToken {
			t.Fatalf("with scaling off the web UI kept the token that scales (%q)", readToken)
		}
		check(t,
			try{"the web UI (scaling off)", readToken, "GET", "job/dockercoins", nil, 200},
			try{"the web UI (scaling off)", readToken, "PUT", "jobs", probe, 403},
			try{"the web UI (scaling off)", readToken, "GET", "var/nomad/jobs/redis/redis", nil, 403},
		)
		c, err := nomad.New(cl.NomadAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(readToken)
		_, err = c.Scale("dockercoins", "worker", 1)
		t.Logf("scale dockercoins worker 1 with the read-only web UI token: %v", err)
		if code := statusCode(err); code != 403 {
			t.Errorf("scaling with the read-only web UI token: %v, want 403", err)
		}
	})

	t.Run("raw_exec", func(t *testing.T) {
		// No token but the operator's may submit a job, so no other can run a task with
		// any driver; and the clients have raw_exec off (the app runs with exec).
		nodes, _, err := s.Nomad.API().Nodes().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			info, _, err := s.Nomad.API().Nodes().Info(n.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := info.Drivers["raw_exec"]
			t.Logf("node %s: raw_exec %+v", info.Name, d)
			if d != nil && (d.Detected || d.Healthy) {
				t.Errorf("node %s offers raw_exec (detected %t, healthy %t)", info.Name, d.Detected, d.Healthy)
			}
		}
	})

	t.Run("management", func(t *testing.T) {
		m := s.NomadACL.Management
		check(t,
			try{"the operator", m, "GET", "jobs", nil, 200},
			try{"the operator", m, "GET", "var/nomad/jobs/redis/redis", nil, 200},
			try{"the operator", m, "GET", "nodes", nil, 200},
		)
		if err := s.Nomad.ScaleAndWait(ctx, "dockercoins", "worker", 2); err != nil {
			t.Fatal(err)
		}
		t.Log("scale dockercoins worker 2 with the management token: done")
	})
}

// rawExecJob is a batch job that would run `id` with raw_exec on any node: what a token
// that may submit jobs could turn into a shell on the clients.
func rawExecJob() *api.Job {
	job := api.NewBatchJob("acl-probe", "acl-probe", "global", 50)
	job.Datacenters = []string{"dc1"}
	task := api.NewTask("probe", "raw_exec").SetConfig("command", "/usr/bin/id")
	job.AddTaskGroup(api.NewTaskGroup("probe", 1).AddTask(task))
	return job
}

// nomadRequest sends one request to Nomad's HTTP API with token (none if empty).
func nomadRequest(t *testing.T, method, url, token string, body []byte) (int, string) {
	t.Helper()
	return withToken(t, method, url, "X-Nomad-Token", token, body)
}

// postJSON posts a JSON body, as the web UI's page does.
func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// statusCode is the HTTP status of Nomad's answer in err: 200 for none.
func statusCode(err error) int {
	var unexpected api.UnexpectedResponseError
	switch {
	case err == nil:
		return 200
	case errors.As(err, &unexpected):
		return unexpected.StatusCode()
	}
	return 0
}

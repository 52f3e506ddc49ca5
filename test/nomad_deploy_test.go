package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
	"github.com/hashicorp/nomad/api"
)

// A deployment that cannot turn healthy says why: its error carries the task event
// that failed it (here the missing program), not only the healthy counts.
func TestDeploymentSaysWhyItFailed(t *testing.T) {
	dev := testbed.StartNomadDev(t)
	job := api.NewServiceJob("broken", "broken", "global", 50)
	job.Update = &api.UpdateStrategy{
		HealthCheck:      ptr("task_states"),
		MinHealthyTime:   ptr(time.Second),
		HealthyDeadline:  ptr(10 * time.Second),
		ProgressDeadline: ptr(20 * time.Second),
	}
	task := api.NewTask("t", "exec").SetConfig("command", "/no/such/program")
	task.User = "nobody"
	task.Resources = &api.Resources{CPU: ptr(20), MemoryMB: ptr(16)}
	group := api.NewTaskGroup("g", 1).AddTask(task)
	group.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
	group.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(0), Unlimited: ptr(false)}
	job.AddTaskGroup(group)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, err := dev.Nomad.Run(ctx, job)
	t.Logf("a job running /no/such/program: %v", err)
	if err == nil || !strings.Contains(err.Error(), "last failure: t: ") || !strings.Contains(err.Error(), "/no/such/program") {
		t.Fatalf("the deployment's error does not say what failed: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

package worker

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins"
)

func TestStatusReadsWhatTheServerServes(t *testing.T) {
	want := dockercoins.WorkerStatus{Hostname: "box", ID: "box-1", Loops: 7, Coins: 1, Flushed: 5, Pending: 2, Replayed: 3, Anomalies: 0}
	srv := httptest.NewServer(NewServer(func() dockercoins.WorkerStatus { return want }))
	defer srv.Close()
	got, err := Status(context.Background(), nil, strings.TrimPrefix(srv.URL, "http://"))
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	if _, err := Status(context.Background(), nil, strings.TrimPrefix(srv.URL, "http://")+"/nowhere"); err == nil {
		t.Fatal("a 404 was read as a status")
	}
}

package platform

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins"
)

func TestHealthAnswersWhileTheServiceIsBusy(t *testing.T) {
	block := make(chan struct{})
	h := withHealth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block // the service's own routes are all stuck
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(block) // first: Close waits for the stuck request
	c := &http.Client{Timeout: 2 * time.Second}
	go c.Get(srv.URL + "/32")
	resp, err := c.Get(srv.URL + dockercoins.HealthPath)
	if err != nil {
		t.Fatalf("the health check waited behind the service: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+dockercoins.HealthPath, nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %v %v, want 405", dockercoins.HealthPath, resp, err)
	}
}

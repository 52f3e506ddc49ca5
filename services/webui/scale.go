package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/nomad/api"
)

// MaxCount is the most instances of a group the page scales to.
const MaxCount = 50

// Scaling says whether the page offers scaling, and why not when it does not.
type Scaling struct {
	Enabled bool   `json:"enabled"`
	Why     string `json:"why,omitempty"`
}

// scaler changes group counts through Nomad's scale API, one request at a time.
type scaler struct {
	log     *slog.Logger
	nomad   Scheduler // nil: no Nomad configured
	scaling Scaling
	mu      sync.Mutex
}

// scaleRequest is what the page posts: one more or one fewer instance of a group.
type scaleRequest struct {
	Group string `json:"group"`
	Delta int    `json:"delta"`
}

// handle scales a group by ±1. It refuses unless scaling was enabled, and refuses
// requests another site's page could make (no JSON body, or a foreign Origin).
func (s *scaler) handle(w http.ResponseWriter, r *http.Request) {
	if !s.scaling.Enabled {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": s.scaling.Why})
		return
	}
	if err := sameOrigin(r); err != nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
		return
	}
	var req scaleRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body such as {\"group\":\"rng\",\"delta\":1}"})
		return
	}
	if !slices.Contains(Groups, req.Group) || (req.Delta != 1 && req.Delta != -1) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("group must be one of %v and delta 1 or -1, got %q %d", Groups, req.Group, req.Delta)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	counts, found, err := s.nomad.Counts(Job)
	if err == nil && !found {
		err = fmt.Errorf("no job %q runs on this Nomad", Job)
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "reading the counts from Nomad: " + err.Error()})
		return
	}
	count := counts[req.Group] + req.Delta
	floor := 0
	if req.Group == "webui" {
		floor = 1 // the page would scale itself away
	}
	if count < floor || count > MaxCount {
		writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("%s stays between %d and %d instances from the page (it has %d)", req.Group, floor, MaxCount, counts[req.Group])})
		return
	}
	if _, err := s.nomad.Scale(Job, req.Group, count); err != nil {
		s.log.WarnContext(r.Context(), "scaling from the page refused", "group", req.Group, "count", count, "err", err)
		writeJSON(w, statusOf(err), map[string]string{"error": explain(err)})
		return
	}
	s.log.InfoContext(r.Context(), "scaled from the page", "group", req.Group, "count", count)
	writeJSON(w, http.StatusOK, map[string]any{"group": req.Group, "count": count})
}

// sameOrigin refuses a request a page of another site sent: browsers send Origin with
// every cross-site POST, and a JSON body needs a preflight this server never grants.
func sameOrigin(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errors.New("scaling takes a JSON body (Content-Type: application/json)")
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("scaling is refused to pages of other sites (Origin %s)", o)
		}
	}
	return nil
}

// statusOf passes Nomad's own refusals (ACLs, a deployment under way) on as such.
func statusOf(err error) int {
	var unexpected api.UnexpectedResponseError
	if errors.As(err, &unexpected) && unexpected.StatusCode() == http.StatusForbidden {
		return http.StatusForbidden
	}
	if errors.As(err, &unexpected) && unexpected.StatusCode() < 500 {
		return http.StatusConflict
	}
	return http.StatusBadGateway
}

// explain words Nomad's refusals for the trainer.
func explain(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Permission denied") || strings.Contains(msg, "403"):
		return "Nomad refused: permission denied. With ACLs on, give the web UI a token that may scale the job (NOMAD_TOKEN: nomad_token in the variable nomad/jobs/dockercoins/webui, or the job variable webui_nomad_token). " + msg
	case strings.Contains(msg, "active deployment"):
		return "Nomad is still rolling out the previous change; try again once its new instances are healthy. " + msg
	}
	return "Nomad refused: " + msg
}

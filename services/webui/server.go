package webui

import (
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/platform"
)

//go:embed static
var static embed.FS

// Console is what the trainer's panels read beside the speed; every field may be
// empty, and the panel it feeds then says what is missing.
type Console struct {
	Breakdowns Breakdowns  // the loop broken down by step
	Traces     TraceSource // loops and their waterfalls
	JaegerUI   string      // a Jaeger UI to link traces to
	Catalog    Catalog     // instances and their health (Consul)
	Nomad      Scheduler   // allocations, counts and scaling
	Scaling    bool        // offer scaling from the page (needs Nomad)
}

// NewServer returns the web UI's HTTP handler.
func NewServer(log *slog.Logger, stats dockercoins.StatsReader, c Console) http.Handler {
	files, _ := fs.Sub(static, "static")
	scaling := Scaling{Enabled: c.Scaling && c.Nomad != nil}
	switch {
	case !c.Scaling:
		scaling.Why = "scaling from the page is off: start the web UI with WEBUI_SCALING=true (job variable webui_scaling, make up SCALING=true)"
	case c.Nomad == nil:
		scaling.Why = "scaling from the page needs Nomad: set NOMAD_ADDR"
	}
	tr := &traces{log: log, source: c.Traces, uiURL: c.JaegerUI}
	var where http.HandlerFunc = func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no Consul configured (CONSUL_HTTP_ADDR)"})
	}
	if c.Catalog != nil {
		where = (&placement{log: log, catalog: c.Catalog, nomad: c.Nomad, workers: newWorkerRates(), scaling: scaling}).handle
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.FileServerFS(files))
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(files)))
	mux.Handle("GET /json", handleJSON(log, stats))
	mux.Handle("GET /bottleneck", handleBottleneck(log, c.Breakdowns))
	mux.HandleFunc("GET /loops", tr.handleLoops)
	mux.HandleFunc("GET /loops/{id}", tr.handleLoop)
	mux.Handle("GET /placement", where)
	mux.HandleFunc("POST /scale", (&scaler{log: log, nomad: c.Nomad, scaling: scaling}).handle)
	return mux
}

// handleJSON answers the original's {"coins", "hashes", "now"}, plus the exact speed
// and its recent series. ?points=N (1 to 300, default 60) sets the series length.
func handleJSON(log *slog.Logger, stats dockercoins.StatsReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		points := 60
		if v := r.URL.Query().Get("points"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 300 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "points must be a whole number from 1 to 300"})
				return
			}
			points = n
		}
		st, err := stats.Read(r.Context(), points)
		if err != nil {
			log.ErrorContext(r.Context(), "reading stats", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "redis unavailable: " + platform.Redact(err)})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

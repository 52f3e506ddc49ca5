package webui

import (
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/dockercoins/dockercoins"
)

//go:embed static
var static embed.FS

// NewServer returns the web UI's HTTP handler. breakdowns may be nil: no tracing panel.
func NewServer(log *slog.Logger, stats dockercoins.StatsReader, breakdowns Breakdowns) http.Handler {
	files, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.FileServerFS(files))
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(files)))
	mux.Handle("GET /json", handleJSON(log, stats))
	mux.Handle("GET /bottleneck", handleBottleneck(log, breakdowns))
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
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "redis unavailable: " + err.Error()})
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

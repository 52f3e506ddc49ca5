package worker

import (
	"encoding/json"
	"net/http"

	"github.com/dockercoins/dockercoins"
)

// NewServer returns the worker's HTTP handler: its status as JSON, which health checks
// and people read.
func NewServer(status func() dockercoins.WorkerStatus) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleStatus(status))
	return mux
}

func handleStatus(status func() dockercoins.WorkerStatus) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(status())
	})
}

package platform

import (
	"io"
	"net/http"

	"github.com/dockercoins/dockercoins"
)

// withHealth answers GET dockercoins.HealthPath itself, at once and before anything
// the service does, and passes every other request to h: a health check must never
// wait behind the work (rng's GET / does, on purpose).
func withHealth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != dockercoins.HealthPath {
			h.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the health check is GET "+dockercoins.HealthPath, http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
}

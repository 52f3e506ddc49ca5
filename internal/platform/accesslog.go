package platform

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/dockercoins/dockercoins/consul"
)

// accessLog logs one line per request, as the original rng and hasher (Flask and
// Sinatra) do, so `docker-compose logs` and `nomad alloc logs` show the work: method,
// path, status, duration, and the caller, by its mesh identity when it came over mTLS.
func accessLog(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start), "caller", caller(r))
	})
}

// caller names who made a request: the service of its mesh certificate, else its address.
func caller(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		for _, u := range r.TLS.PeerCertificates[0].URIs {
			if u.Scheme == "spiffe" {
				return consul.ServiceOf(u.String())
			}
		}
	}
	return r.RemoteAddr
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

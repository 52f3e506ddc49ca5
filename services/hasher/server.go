package hasher

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dockercoins/dockercoins/internal/pause"
	"github.com/dockercoins/dockercoins/internal/platform"
)

// MaxBody is the largest body hasher accepts.
const MaxBody = 1 << 20

// Config shapes how slow hasher is.
type Config struct {
	Delay    time.Duration // added to every hash
	Hostname string        // named by GET /
}

// NewServer returns hasher's HTTP handler.
func NewServer(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleHello(cfg.Hostname))
	mux.Handle("POST /{$}", handleHash(cfg.Delay))
	return mux
}

func handleHello(hostname string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "HASHER running on %s\n", hostname)
	})
}

func handleHash(delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, fmt.Sprintf("body must be at most %d bytes (1 MiB)", MaxBody), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "reading body: "+platform.Redact(err), http.StatusBadRequest)
			return
		}
		if err := pause.For(r.Context(), delay); err != nil {
			return // the caller went away
		}
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, hex.EncodeToString(sum[:]))
	})
}

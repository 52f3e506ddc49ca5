package main

import (
	"fmt"
	"net/http"
)

// NewServer returns the worker's HTTP handler: a status line for health checks.
func NewServer(hostname string, tally *Tally, flusher *Flusher) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleStatus(hostname, tally, flusher))
	return mux
}

func handleStatus(hostname string, tally *Tally, flusher *Flusher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loops, coins := tally.Totals()
		fmt.Fprintf(w, "WORKER running on %s: %d loops, %d coins, %d flushed, %d pending\n",
			hostname, loops, coins, flusher.Flushed(), flusher.Pending())
	})
}

// Package peertest gives tests a fake instance of a service that records what it was
// sent, reached through a real peer.Client as a service reaches its peers.
package peertest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/dockercoins/dockercoins/peer"
)

// Request is what a fake instance saw of one call.
type Request struct {
	Method, Path, ContentType string
	Body                      []byte
}

// Server is a fake instance of a service. The zero value is not usable; see NewServer.
type Server struct {
	service string
	srv     *httptest.Server
	mu      sync.Mutex
	seen    []Request
}

// NewServer starts a fake instance of service that answers every call with 200 and
// answer(request), and stops it when the test ends.
func NewServer(t testing.TB, service string, answer func(Request) []byte) *Server {
	s := &Server{service: service}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := Request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body}
		s.mu.Lock()
		s.seen = append(s.seen, req)
		s.mu.Unlock()
		w.Write(answer(req))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// Client is a peer.Client that finds the service at this instance only.
func (s *Server) Client() *peer.Client {
	return &peer.Client{Service: s.service, Resolver: peer.Static{s.service: {s.srv.Listener.Addr().String()}}}
}

// Requests returns the calls received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.seen...)
}

// DeadAddr is a loopback address nothing listens on.
func DeadAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

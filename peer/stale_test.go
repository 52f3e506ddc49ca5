package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeConsulDNS answers SRV lookups for any name with one instance at 127.0.0.1:port
// over TCP, as Consul's DNS does, or, while failing is set, closes every connection.
type fakeConsulDNS struct {
	net.Listener
	port    uint16
	failing atomic.Bool
}

func newFakeConsulDNS(t *testing.T, port uint16) *fakeConsulDNS {
	f := &fakeConsulDNS{port: port}
	f.Listener = listenDNS(t, f.serve)
	return f
}

// listenDNS listens on a free loopback port, closed when t ends, and serves each
// connection with serve.
func listenDNS(t *testing.T, serve func(net.Conn)) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln
}

func (f *fakeConsulDNS) serve(c net.Conn) {
	serveDNS(c, f.failing.Load, func(b *dnsmessage.Builder, rh dnsmessage.ResourceHeader, q dnsmessage.Question) {
		target := dnsmessage.MustNewName("7f000001.addr.dc1.consul.")
		switch q.Type {
		case dnsmessage.TypeSRV:
			b.SRVResource(rh, dnsmessage.SRVResource{Target: target, Port: f.port, Weight: 1, Priority: 1})
		case dnsmessage.TypeA:
			b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		}
	})
}

// serveDNS answers the DNS-over-TCP queries on c, each with what answer adds, until c
// closes or stop says so.
func serveDNS(c net.Conn, stop func() bool, answer func(b *dnsmessage.Builder, rh dnsmessage.ResourceHeader, q dnsmessage.Question)) {
	defer c.Close()
	for !stop() {
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(msg)
		if err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		answer(&b, dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET}, q)
		out, err := b.Finish()
		if err != nil {
			return
		}
		c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(out))))
		c.Write(out)
	}
}

// syncBuffer is a log sink the resolver's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) has(msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.b.String(), msg)
}

// waitFor polls cond every 10 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// When lookups start failing the last answer is served, with a log line, for at most
// StaleMax; then it is dropped, with a log line, and requests fail until a lookup
// answers again.
func TestDNSServesAStaleAnswerForABoundedTime(t *testing.T) {
	f := newFakeConsulDNS(t, 8001)
	var log syncBuffer
	const staleMax = 400 * time.Millisecond
	d := &DNS{Server: f.Addr().String(), TTL: 50 * time.Millisecond, StaleMax: staleMax, Log: slog.New(slog.NewTextHandler(&log, nil))}
	resolve := func() ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return d.Resolve(ctx, "rng")
	}
	if addrs, err := resolve(); err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.1:8001" {
		t.Fatalf("first answer %v %v", addrs, err)
	}
	f.failing.Store(true)
	failedAt := time.Now()
	if !waitFor(time.Second, func() bool { resolve(); return log.has("serving the last answer") }) {
		t.Fatal("no log line for the stale answer")
	}
	addrs, err := resolve()
	t.Logf("tried: lookups failing; %s later Resolve gave %v %v", time.Since(failedAt).Round(time.Millisecond), addrs, err)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("the stale answer was not served: %v %v", addrs, err)
	}
	if !waitFor(2*time.Second, func() bool { _, err := resolve(); return err != nil }) {
		t.Fatalf("the stale answer was still served %s after lookups began failing (StaleMax %s)", time.Since(failedAt), staleMax)
	}
	dropped := time.Since(failedAt)
	_, err = resolve()
	t.Logf("dropped %s after lookups began failing (StaleMax %s): %v", dropped.Round(time.Millisecond), staleMax, err)
	if dropped < staleMax || !log.has("dropping the stale answer") {
		t.Fatalf("dropped after %s, logged %v", dropped, log.has("dropping the stale answer"))
	}
	f.failing.Store(false)
	if !waitFor(2*time.Second, func() bool { a, err := resolve(); return err == nil && len(a) == 1 }) || !waitFor(time.Second, func() bool { return log.has("consul dns answers again") }) {
		t.Fatal("no answer, or no log line, once lookups answered again")
	}
	t.Logf("log:\n%s", log.b.String())
}

package platform

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

var testLimits = Limits{
	ReadHeaderTimeout: 300 * time.Millisecond,
	ReadTimeout:       time.Second,
	WriteTimeout:      time.Second,
	IdleTimeout:       400 * time.Millisecond,
	MaxHeaderBytes:    1024,
}

// serve runs HTTP with testLimits and withHealth on a loopback port until the test ends.
func serve(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- HTTP(ctx, slog.New(slog.DiscardHandler), ln, testLimits, withHealth(h)) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn) // until EOF or the deadline
	return err == nil
}

// Two hundred connections that send half a request and stop do not keep the health
// check waiting, and each is closed once the header timeout passes.
func TestSlowHeadersAreCutOffAndHealthStillAnswers(t *testing.T) {
	addr := serve(t, http.NotFoundHandler())
	var conns []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ") // never finished
		conns = append(conns, c)
	}
	start := time.Now()
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("tried: 200 connections stuck in their headers, then GET /healthz: %s in %s", resp.Status, time.Since(start))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
	closed := 0
	for _, c := range conns {
		if closedWithin(c, 2*time.Second) {
			closed++
		}
	}
	t.Logf("%d of 200 slow connections closed by the server %s after they started", closed, time.Since(start).Round(time.Millisecond))
	if closed != 200 {
		t.Fatalf("%d of 200 slow connections still open past the header timeout", 200-closed)
	}
}

func TestOversizedHeadersGet431(t *testing.T) {
	addr := serve(t, http.NotFoundHandler())
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 8<<10)) // past 1 KiB and Go's 4 KiB slack
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("tried: an 8 KiB header against a 1 KiB limit: %s", resp.Status)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("got %s, want 431", resp.Status)
	}
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	addr := serve(t, http.NotFoundHandler())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := time.Now()
	closed := closedWithin(c, 2*time.Second)
	t.Logf("tried: a keep-alive connection left idle after one request (idle timeout %s): closed %v after %s", testLimits.IdleTimeout, closed, time.Since(start).Round(time.Millisecond))
	if !closed {
		t.Fatal("an idle connection stayed open past the idle timeout")
	}
}

func TestLimitsMustBeSet(t *testing.T) {
	for _, l := range []Limits{{}, {ReadHeaderTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second, MaxHeaderBytes: 10}} {
		if err := l.Check(); err == nil {
			t.Errorf("%+v passed", l)
		} else {
			t.Logf("%+v: %v", l, err)
		}
	}
	if err := testLimits.Check(); err != nil {
		t.Fatal(err)
	}
}

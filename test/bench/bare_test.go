package bench

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// The bare loop is the reference the project's raw loop is measured against: the same
// protocol (a worker does GET /32 on rng, then POSTs the bytes to hasher) with the
// standard library only, no discovery, metrics, logs, tracing or counting. Its three
// programs are this test binary started again with bareRole set, so they need no
// build of their own.
const bareRole = "DOCKERCOINS_BENCH_BARE"

// runBare runs the bare program named by role and never returns.
func runBare(role string) {
	var err error
	switch role {
	case "rng":
		err = serveBare(http.HandlerFunc(bareRNG))
	case "hasher":
		err = serveBare(bareHasher())
	case "worker":
		err = bareWorker(os.Getenv("RNG_ADDR"), os.Getenv("HASHER_ADDR"))
	default:
		err = fmt.Errorf("unknown bare role %q", role)
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// serveBare serves h on a free loopback port and logs the address as the services do,
// so testbed finds it the same way.
func serveBare(h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("listening", "addr", ln.Addr().String())
	return http.Serve(ln, h)
}

func bareRNG(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Path[1:])
	if err != nil || n < 1 || n > 1<<20 {
		http.Error(w, "bad count", http.StatusBadRequest)
		return
	}
	b := make([]byte, n)
	rand.Read(b)
	w.Write(b)
}

// bareHasher answers POST / with the hex SHA-256 of the body, and GET /count with how
// many it answered: the loops done, read by the benchmark twice a measurement.
func bareHasher() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, n.Load())
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		sum := sha256.Sum256(body)
		io.WriteString(w, hex.EncodeToString(sum[:]))
		n.Add(1)
	})
}

func bareWorker(rng, hasher string) error {
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("listening", "addr", "none")
	for {
		resp, err := http.Get("http://" + rng + "/32")
		if err != nil {
			return err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp, err = http.Post("http://"+hasher+"/", "application/octet-stream", bytes.NewReader(data))
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
	}
}

// bareStack is the bare rng, hasher and workers, each started with env.
type bareStack struct {
	env         []string
	rng, hasher *testbed.Service
	workers     []*testbed.Service
}

func startBare(b *testing.B, role string, env ...string) *testbed.Service {
	p := testbed.Start(b, "bare "+role, append([]string{bareRole + "=" + role}, env...), os.Args[0])
	ev := p.WaitEvent(b, "listening", 20*time.Second)
	return &testbed.Service{Proc: p, Addr: ev["addr"].(string)}
}

func newBareStack(b *testing.B, env ...string) *bareStack {
	return &bareStack{env: env, rng: startBare(b, "rng", env...), hasher: startBare(b, "hasher", env...)}
}

// scaleTo starts or stops bare workers until n run; like the project's, each has one
// core's worth of Go scheduler (GOMAXPROCS=1).
func (s *bareStack) scaleTo(b *testing.B, n int) {
	for len(s.workers) < n {
		s.workers = append(s.workers, startBare(b, "worker",
			append([]string{"RNG_ADDR=" + s.rng.Addr, "HASHER_ADDR=" + s.hasher.Addr, "GOMAXPROCS=1"}, s.env...)...))
	}
	for len(s.workers) > n {
		s.workers[len(s.workers)-1].Stop(10 * time.Second)
		s.workers = s.workers[:len(s.workers)-1]
	}
}

func (s *bareStack) procs() []*testbed.Service {
	return append([]*testbed.Service{s.rng, s.hasher}, s.workers...)
}

// loops reads how many loops the bare hasher answered.
func (s *bareStack) loops(b *testing.B) int64 {
	resp, err := http.Get(s.hasher.URL() + "/count")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		b.Fatalf("bare hasher count %q: %v", body, err)
	}
	return n
}

func signalAll(procs []*testbed.Service, sig syscall.Signal) {
	for _, p := range procs {
		p.Signal(sig)
	}
}

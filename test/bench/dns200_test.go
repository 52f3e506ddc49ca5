package bench

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/test/testbed"
)

// BenchmarkConsulDNS200 measures what finding a service of 200 instances through Consul
// DNS costs: the answer's size over UDP (which Consul trims to fit unless told
// otherwise) and over TCP (which the services use), and how long a worker's first,
// uncached lookup of it takes.
func BenchmarkConsulDNS200(b *testing.B) {
	const n = 200
	tb := newTable(fmt.Sprintf("Consul DNS: one service of %d passing instances (target: all %d found)", n, n),
		"query", "records", "answer bytes", "time")
	if _, err := exec.LookPath("dig"); err != nil {
		b.Fatal("dig (dnsutils) is not installed: run `make deps`")
	}
	consul := testbed.StartConsul(b)
	var ids []string
	for range n {
		// Each instance is a listener of its own, so its TCP check passes.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ln.Close() })
		consul.RegisterTCP("many", ln.Addr().String())
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ids = append(ids, "many-"+port)
	}
	consul.WaitPassing("many", 60*time.Second, ids...)

	for _, proto := range []string{"udp", "tcp"} {
		records, size, took := dig(b, consul.DNSAddr, "many.service.consul", proto)
		tb.add("dig SRV over "+proto, records, size, took)
	}
	const lookups = 20
	var took time.Duration
	var found int
	for range lookups {
		// A new resolver each time: the first lookup, which no cache answers.
		r := &peer.DNS{Server: consul.DNSAddr}
		start := time.Now()
		addrs, err := r.Resolve(context.Background(), "many")
		took += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		found = len(addrs)
	}
	tb.add("peer.DNS, uncached (mean of 20)", fmt.Sprintf("%d (%s)", found, atLeastCount(found, n)), "-", (took / lookups).Round(time.Microsecond))
	tb.note("dig over udp shows what a plain resolver gets; the services ask over TCP (peer/dns.go), so no answer is trimmed.")
}

var (
	digSize    = regexp.MustCompile(`MSG SIZE\s+rcvd: (\d+)`)
	digAnswers = regexp.MustCompile(`ANSWER: (\d+)`)
	digTime    = regexp.MustCompile(`Query time: (\d+) msec`)
)

// dig asks server for name's SRV records over proto, and returns how many came, the
// answer's size in bytes and the query time dig reports (whole milliseconds).
func dig(b *testing.B, server, name, proto string) (records, size int, took time.Duration) {
	host, port, _ := net.SplitHostPort(server)
	args := []string{"@" + host, "-p", port, name, "SRV", "+ignore", "+time=5", "+tries=1"}
	if proto == "tcp" {
		args = append(args, "+tcp")
	}
	out, err := exec.Command("dig", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	if m := digAnswers.FindSubmatch(out); m != nil {
		records, _ = strconv.Atoi(string(m[1]))
	}
	if m := digSize.FindSubmatch(out); m != nil {
		size, _ = strconv.Atoi(string(m[1]))
	}
	if m := digTime.FindSubmatch(out); m != nil {
		ms, _ := strconv.Atoi(string(m[1]))
		took = time.Duration(ms) * time.Millisecond
	}
	return records, size, took
}

func atLeastCount(got, want int) string {
	if got >= want {
		return "ok"
	}
	return "MISS"
}

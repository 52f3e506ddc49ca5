package bench

import (
	"context"
	"fmt"
	"net"
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
		a := testbed.Dig(b, consul.DNSAddr, "many.service.consul", proto)
		tb.add("dig SRV over "+proto, a.Records, a.Size, a.Took)
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

func atLeastCount(got, want int) string {
	if got >= want {
		return "ok"
	}
	return "MISS"
}

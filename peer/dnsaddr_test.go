package peer

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// countingDNS answers over TCP, as Consul does: an SRV lookup with instances on
// targets, and A lookups of node names from nodes; it counts the questions by type.
type countingDNS struct {
	net.Listener
	srvs  []dnsmessage.SRVResource
	nodes map[string][4]byte

	mu    sync.Mutex
	asked map[dnsmessage.Type]int
}

func newCountingDNS(t *testing.T, srvs []dnsmessage.SRVResource, nodes map[string][4]byte) *countingDNS {
	f := &countingDNS{srvs: srvs, nodes: nodes, asked: map[dnsmessage.Type]int{}}
	f.Listener = listenDNS(t, f.serve)
	return f
}

func (f *countingDNS) serve(c net.Conn) {
	serveDNS(c, func() bool { return false }, func(b *dnsmessage.Builder, rh dnsmessage.ResourceHeader, q dnsmessage.Question) {
		f.mu.Lock()
		f.asked[q.Type]++
		f.mu.Unlock()
		switch q.Type {
		case dnsmessage.TypeSRV:
			for _, srv := range f.srvs {
				b.SRVResource(rh, srv)
			}
		case dnsmessage.TypeA:
			if ip, ok := f.nodes[q.Name.String()]; ok {
				b.AResource(rh, dnsmessage.AResource{A: ip})
			}
		}
	})
}

func (f *countingDNS) count(t dnsmessage.Type) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[t]
}

// An SRV target of the form <hex>.addr.<dc>.<domain>. holds the instance's address,
// IPv4 or IPv6: the resolver reads it from the name and asks nothing more, so a lookup
// of a service on many nodes is one query, not one more per node. A target that is a
// node's name is still looked up, once however many instances it holds.
func TestDNSReadsAddrTargetsWithoutAskingAgain(t *testing.T) {
	srv := func(target string, port uint16) dnsmessage.SRVResource {
		return dnsmessage.SRVResource{Target: dnsmessage.MustNewName(target), Port: port, Weight: 1, Priority: 1}
	}
	dns := newCountingDNS(t, []dnsmessage.SRVResource{
		srv("0ac7000b.addr.dc1.consul.", 8001),
		srv("0ac7000b.addr.dc1.consul.", 8002),
		srv("0AC7000C.addr.dc1.consul.", 8001),
		srv("fd000000000000000000000000000001.addr.dc1.consul.", 8003),
		srv("n3.node.dc1.consul.", 8004),
		srv("n3.node.dc1.consul.", 8005),
		// Not Consul's form: too short, not hex, another domain. Each is looked up
		// as a name, which this server does not know.
		srv("0ac7.addr.dc1.consul.", 1),
		srv("zzzzzzzz.addr.dc1.consul.", 2),
		srv("0ac7000d.addr.dc1.example.", 3),
	}, map[string][4]byte{"n3.node.dc1.consul.": {10, 199, 0, 13}})

	r := &DNS{Server: dns.Addr().String()}
	got, err := r.Resolve(context.Background(), "rng")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.199.0.11:8001", "10.199.0.11:8002", "10.199.0.12:8001", "10.199.0.13:8004", "10.199.0.13:8005", "[fd00::1]:8003"}
	if !slices.Equal(got, want) {
		t.Fatalf("resolved %v, want %v", got, want)
	}
	// One SRV question; one A question each for the node and the three names that
	// only look like Consul's addresses; none for the addr targets.
	if n := dns.count(dnsmessage.TypeSRV); n != 1 {
		t.Errorf("%d SRV questions, want 1", n)
	}
	if n := dns.count(dnsmessage.TypeA); n != 4 {
		t.Errorf("%d A questions, want 4 (n3 and the three look-alikes)", n)
	}
}

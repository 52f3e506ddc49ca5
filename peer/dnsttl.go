package peer

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Go's resolver does not return the TTLs of its answers, so the connections it dials
// to the agent are wrapped to read them from the replies as they pass. The lookup puts
// a ttlRecorder in its context, which Go's resolver hands on to Dial. Only SRV records
// count: they say which instances are healthy (Consul's service_ttl), while the A
// records of <hex ip>.addr targets encode a fixed address and carry node_ttl.

type ttlKey struct{}

// ttlRecorder keeps the smallest TTL among the SRV answer records of a lookup's replies.
type ttlRecorder struct {
	mu   sync.Mutex
	min  time.Duration
	seen bool
}

func withTTLRecorder(ctx context.Context) (context.Context, *ttlRecorder) {
	r := &ttlRecorder{}
	return context.WithValue(ctx, ttlKey{}, r), r
}

// TTL returns the smallest TTL seen, and whether any answer record was seen.
func (r *ttlRecorder) TTL() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.min, r.seen
}

// observe reads the SRV answer records of one DNS message. A message it cannot parse is
// left to the resolver to reject.
func (r *ttlRecorder) observe(msg []byte) {
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return
	}
	if err := p.SkipAllQuestions(); err != nil {
		return
	}
	for {
		h, err := p.AnswerHeader()
		if err != nil {
			return
		}
		if h.Type == dnsmessage.TypeSRV {
			ttl := time.Duration(h.TTL) * time.Second
			r.mu.Lock()
			if !r.seen || ttl < r.min {
				r.min, r.seen = ttl, true
			}
			r.mu.Unlock()
		}
		if err := p.SkipAnswer(); err != nil {
			return
		}
	}
}

// recordTTL wraps a TCP connection so the replies read from it reach the context's
// recorder, if any.
func recordTTL(ctx context.Context, conn net.Conn) net.Conn {
	rec, ok := ctx.Value(ttlKey{}).(*ttlRecorder)
	if !ok {
		return conn
	}
	return &ttlStreamConn{Conn: conn, rec: rec}
}

// ttlStreamConn reassembles TCP's length-prefixed messages from reads of any size.
type ttlStreamConn struct {
	net.Conn
	rec *ttlRecorder
	buf []byte
}

func (c *ttlStreamConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.buf = append(c.buf, b[:n]...)
	for len(c.buf) >= 2 {
		size := int(binary.BigEndian.Uint16(c.buf))
		if len(c.buf) < 2+size {
			break
		}
		c.rec.observe(c.buf[2 : 2+size])
		c.buf = c.buf[2+size:]
	}
	return n, err
}

package peer

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestTTLReadFromAStreamInPieces checks the TCP reassembly: two replies arrive split
// at every byte, and the smallest SRV TTL among them is kept; other records are not
// counted.
func TestTTLReadFromAStreamInPieces(t *testing.T) {
	reply := func(srvTTL, aTTL uint32) []byte {
		name := dnsmessage.MustNewName("rng.service.consul.")
		target := dnsmessage.MustNewName("7f000001.addr.dc1.consul.")
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true})
		b.StartAnswers()
		b.SRVResource(dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: srvTTL},
			dnsmessage.SRVResource{Target: target, Port: 8001})
		b.AResource(dnsmessage.ResourceHeader{Name: target, Class: dnsmessage.ClassINET, TTL: aTTL},
			dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		msg, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
	}
	stream := append(reply(9, 0), reply(4, 1)...)

	server, client := net.Pipe()
	go func() {
		for _, c := range stream {
			server.Write([]byte{c})
		}
		server.Close()
	}()
	ctx, rec := withTTLRecorder(context.Background())
	conn := recordTTL(ctx, client)
	got, err := io.ReadAll(conn)
	if err != nil || len(got) != len(stream) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(stream), err)
	}
	if ttl, ok := rec.TTL(); !ok || ttl != 4*time.Second {
		t.Fatalf("TTL %v (seen %v), want 4s", ttl, ok)
	}
	if _, ok := recordTTL(context.Background(), client).(*ttlStreamConn); ok {
		t.Fatal("a connection without a recorder was wrapped")
	}
}

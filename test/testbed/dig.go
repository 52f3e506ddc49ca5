package testbed

import (
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DigAnswer is what dig printed of an SRV answer.
type DigAnswer struct {
	Records   int           // answer records
	Size      int           // bytes received
	Took      time.Duration // the query time dig reports (whole milliseconds)
	Truncated bool          // the tc flag: the answer did not fit
}

var (
	digSize    = regexp.MustCompile(`MSG SIZE\s+rcvd: (\d+)`)
	digAnswers = regexp.MustCompile(`ANSWER: (\d+)`)
	digTime    = regexp.MustCompile(`Query time: (\d+) msec`)
	digFlags   = regexp.MustCompile(`flags:([^;]*);`)
)

// Dig asks server for name's SRV records over proto (udp or tcp) as a person does, with
// dig, and takes a truncated UDP answer as it comes (+ignore) rather than asking again
// over TCP.
func Dig(t testing.TB, server, name, proto string) DigAnswer {
	t.Helper()
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatal("dig (dnsutils) is not installed: run `make deps`")
	}
	host, port, _ := net.SplitHostPort(server)
	args := []string{"@" + host, "-p", port, name, "SRV", "+ignore", "+time=5", "+tries=1"}
	if proto == "tcp" {
		args = append(args, "+tcp")
	}
	out, err := exec.Command("dig", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	var a DigAnswer
	if m := digAnswers.FindSubmatch(out); m != nil {
		a.Records, _ = strconv.Atoi(string(m[1]))
	}
	if m := digSize.FindSubmatch(out); m != nil {
		a.Size, _ = strconv.Atoi(string(m[1]))
	}
	if m := digTime.FindSubmatch(out); m != nil {
		ms, _ := strconv.Atoi(string(m[1]))
		a.Took = time.Duration(ms) * time.Millisecond
	}
	if m := digFlags.FindSubmatch(out); m != nil {
		a.Truncated = strings.Contains(" "+string(m[1])+" ", " tc ")
	}
	return a
}

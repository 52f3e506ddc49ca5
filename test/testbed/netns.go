package testbed

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/dockercoins/dockercoins/lab"
)

// Node is a network namespace of a test's network (see lab.Net).
type Node = lab.Node

// nsTag starts the names of the namespaces tests create; the process id after it tells
// whose they are, so a later run can clear what a killed test left behind.
const nsTag = "dctest-"

// dirTag starts the names of the agents' state folders, likewise; shorter, as the
// paths under them hold unix sockets.
const dirTag = "dct"

var nets atomic.Int32

// NewNet creates a network of the test's own on a 10.199.<k> range no one else uses,
// and deletes it, with every node, when the test ends. It needs root.
func NewNet(t testing.TB) *lab.Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	lab.ClearStale(nsTag, os.TempDir(), dirTag)
	n, err := lab.FreeNet(fmt.Sprintf("%s%d-%d-", nsTag, os.Getpid(), nets.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Delete() })
	return n
}

package lab

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/nomad"
)

// Group is the state of one group of a job.
type Group struct {
	Job, Group                string
	Desired, Running, Healthy int
	Nodes                     []string          // where its instances run
	Addrs                     map[string]string // port label -> host:port of one running instance
}

// Status reads the state of every group of the jobs that are registered.
func Status(c *nomad.Client) ([]Group, error) {
	var out []Group
	for _, job := range Jobs {
		counts, found, err := c.Counts(job)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		allocs, err := c.Allocations(job)
		if err != nil {
			return nil, err
		}
		names := slices.Sorted(maps.Keys(counts))
		// The app's groups in the order a loop visits them.
		slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
		for _, name := range names {
			g := Group{Job: job, Group: name, Desired: counts[name], Addrs: map[string]string{}}
			for _, a := range allocs {
				if a.Group != name || !a.Running() {
					continue
				}
				g.Running++
				if a.Healthy {
					g.Healthy++
				}
				g.Nodes = append(g.Nodes, a.Node)
				for label, addr := range a.Addrs {
					g.Addrs[label] = addr
				}
			}
			slices.Sort(g.Nodes)
			g.Nodes = slices.Compact(g.Nodes)
			out = append(out, g)
		}
	}
	return out, nil
}

// WriteStatus prints the groups as a table, then the URLs people open.
func WriteStatus(w io.Writer, nomadAddr string, groups []Group) {
	if len(groups) == 0 {
		fmt.Fprintf(w, "No DockerCoins job runs on the Nomad at %s.\n", nomadAddr)
		return
	}
	fmt.Fprintf(w, "%-12s %-8s %7s %7s %7s  %s\n", "job", "group", "desired", "running", "healthy", "nodes")
	urls := map[string]string{}
	for _, g := range groups {
		fmt.Fprintf(w, "%-12s %-8s %7d %7d %7d  %s\n", g.Job, g.Group, g.Desired, g.Running, g.Healthy, strings.Join(g.Nodes, ","))
		if a := g.Addrs["http"]; g.Group == dockercoins.WebUI && a != "" {
			urls["webui"] = "http://" + a
		}
		if a := g.Addrs["query"]; g.Group == "jaeger" && a != "" {
			urls["Jaeger"] = "http://" + a
		}
	}
	if ServesUI(context.Background(), nomadAddr+"/ui/") { // the pinned build has none
		fmt.Fprintf(w, "  Nomad UI   %s\n", nomadAddr)
	}
	for _, k := range []string{"webui", "Jaeger"} {
		if urls[k] != "" && (k != "Jaeger" || ServesUI(context.Background(), urls[k])) {
			fmt.Fprintf(w, "  %-10s %s\n", k, urls[k])
		}
	}
}

// rank orders the app's services as Services lists them, before any other group.
func rank(group string) int {
	if i := slices.Index(Services, group); i >= 0 {
		return i
	}
	return len(Services)
}

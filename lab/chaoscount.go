package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/poll"
)

// completed adds up the loops the phase's worker processes completed, each counted
// once, by the process that did it (a status's loops are its own; the loops it
// replayed for its predecessor are in replayed, not in loops): from the "stopped" line of
// every process that drained, read from the allocations' log files on their nodes
// (a lost node's disk included), and from the status read just before the kill of
// every process the suite killed. Every process that logged "starting" must have been
// accounted for one way or the other.
// It also returns how many loops restarted processes replayed for their predecessors.
func (c *Chaos) completed(ctx context.Context, known map[string]bool, killed []killedWorker) (total, replayed int64, err error) {
	// Stop returns once Nomad sees no allocation running; wait for the processes too
	// (a node that was cut off hears of the stop late).
	if !poll.Within(ctx, time.Minute, 200*time.Millisecond, func() bool {
		return len(clusterTaskPids(&c.Cluster, "worker", "")) == 0
	}) {
		return 0, 0, fmt.Errorf("worker processes still run a minute after the job stopped")
	}
	all, err := c.Stack.Nomad.Allocations("dockercoins")
	if err != nil {
		return 0, 0, err
	}
	kills := map[string]int{}
	for _, k := range killed {
		kills[k.alloc]++
		total += k.status.Loops
	}
	for _, a := range all {
		if known[a.ID] || a.Group != dockercoins.Worker {
			continue
		}
		var l workerLog
		// The log collector writes a process's last lines just after it exits.
		poll.Within(ctx, 10*time.Second, 200*time.Millisecond, func() bool {
			l = readWorkerLog(filepath.Join(c.Cluster.State, a.Node, "data", "nomad", "alloc", a.ID, "alloc", "logs"))
			return l.starts == l.stops+kills[a.ID]
		})
		if l.starts != l.stops+kills[a.ID] {
			return 0, 0, fmt.Errorf("worker allocation %s on %s: %d processes started, %d stopped and %d killed by the suite: one ended unaccounted",
				a.ID, a.Node, l.starts, l.stops, kills[a.ID])
		}
		if l.kept > 0 || l.anomalies > 0 {
			return 0, 0, fmt.Errorf("worker allocation %s: %d loops left in its journal, %d anomalies", a.ID, l.kept, l.anomalies)
		}
		total += l.loops
		replayed += l.replayed
	}
	return total, replayed, nil
}

// workerLog is what a worker allocation's JSON log says about its processes.
type workerLog struct {
	starts, stops   int
	loops           int64 // Σ loops over the "stopped" lines
	kept, anomalies int64
	replayed        int64
}

// readWorkerLog reads the worker task's stdout files in dir (worker.stdout.0, .1...).
func readWorkerLog(dir string) workerLog {
	files, _ := filepath.Glob(filepath.Join(dir, "worker.stdout.*"))
	index := func(f string) int {
		n, _ := strconv.Atoi(f[strings.LastIndexByte(f, '.')+1:])
		return n
	}
	slices.SortFunc(files, func(a, b string) int { return index(a) - index(b) })
	var l workerLog
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			var ev struct {
				Msg       string `json:"msg"`
				Loops     int64  `json:"loops"`
				Replayed  int64  `json:"replayed"`
				Kept      int64  `json:"kept_in_journal"`
				Anomalies int64  `json:"anomalies"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			switch ev.Msg {
			case "starting":
				l.starts++
			case "stopped":
				l.stops++
				l.loops += ev.Loops
				l.kept += ev.Kept
				l.replayed += ev.Replayed
				l.anomalies += ev.Anomalies
			}
		}
	}
	return l
}

// line is a phase's result in a few words, for the progress output.
func (r Result) line() string {
	return fmt.Sprintf("completed %d, counted %d, lost %d, twice %d, speed back after %s, count stalled %.1f s",
		r.Completed, r.Counted, r.Lost, r.Twice, r.recovery(), r.Stall.Seconds())
}

func (r Result) recovery() string {
	if r.Recovery < 0 {
		return "not within the wait"
	}
	return fmt.Sprintf("%.0f s", r.Recovery.Seconds())
}

// WriteTable prints the results as a Markdown table, then the verdict; it reports
// whether every fault met its target.
func WriteTable(w io.Writer, results []Result) bool {
	rows := [][]string{{"fault", "loops completed", "counted in Redis", "lost", "counted twice", "hashes/s before", "speed recovered after", "count stalled", "target"}}
	ok := true
	for _, r := range results {
		target := "0 lost, 0 twice"
		if r.Bound >= 0 {
			target = fmt.Sprintf("lost ≤ %d unflushed", r.Bound)
		}
		verdict := "met"
		if !r.OK() {
			verdict, ok = "MISSED", false
		}
		rows = append(rows, []string{r.Fault, strconv.FormatInt(r.Completed, 10), strconv.FormatInt(r.Counted, 10),
			strconv.FormatInt(r.Lost, 10), strconv.FormatInt(r.Twice, 10), fmt.Sprintf("%.1f", r.Baseline), r.recovery(), fmt.Sprintf("%.1f s", r.Stall.Seconds()), target + ": " + verdict})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for n, row := range rows {
		fmt.Fprint(w, "|")
		for i, cell := range row {
			fmt.Fprintf(w, " %s%s |", cell, strings.Repeat(" ", widths[i]-len([]rune(cell))))
		}
		fmt.Fprintln(w)
		if n == 0 {
			fmt.Fprint(w, "|")
			for i := range row {
				fmt.Fprintf(w, "%s|", strings.Repeat("-", widths[i]+2))
			}
			fmt.Fprintln(w)
		}
	}
	for _, r := range results {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Fault, r.Note)
		}
	}
	if len(results) == 0 {
		fmt.Fprintln(w, "No fault ran.")
		return false
	}
	if ok {
		fmt.Fprintln(w, "Target met: no loop lost or counted twice, except what a lost node's workers had not flushed.")
	} else {
		fmt.Fprintln(w, "Target MISSED: see the rows marked MISSED.")
	}
	return ok
}

// Package bench holds DockerCoins' benchmarks: `make bench` runs each once against real
// components and prints one table per benchmark. The targets are written next to the
// numbers; they are goals to read, not assertions.
package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
)

type table struct {
	title   string
	columns []string
	rows    [][]string
	notes   []string
}

var (
	mu     sync.Mutex
	tables []*table
)

// newTable starts a table that prints when the benchmarks are done.
func newTable(title string, columns ...string) *table {
	mu.Lock()
	defer mu.Unlock()
	t := &table{title: title, columns: columns}
	tables = append(tables, t)
	return t
}

// add appends a row; values are formatted with %v, floats with two decimals.
func (t *table) add(values ...any) {
	mu.Lock()
	defer mu.Unlock()
	row := make([]string, len(values))
	for i, v := range values {
		if f, ok := v.(float64); ok {
			row[i] = fmt.Sprintf("%.2f", f)
		} else {
			row[i] = fmt.Sprint(v)
		}
	}
	t.rows = append(t.rows, row)
}

// note adds a line printed under the table.
func (t *table) note(format string, args ...any) {
	mu.Lock()
	defer mu.Unlock()
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func printTables(w io.Writer) {
	for _, t := range tables {
		fmt.Fprintf(w, "\n## %s\n\n", t.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(t.columns, "\t")+"\t")
		for _, r := range t.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
		}
		tw.Flush()
		for _, n := range t.notes {
			fmt.Fprintln(w, n)
		}
	}
}

func TestMain(m *testing.M) {
	if role := os.Getenv(bareRole); role != "" {
		runBare(role)
	}
	code := m.Run()
	printTables(os.Stdout)
	os.Exit(code)
}

// within reports whether got is within pct percent of want, as a table cell.
func within(got, want, pct float64) string {
	if want == 0 {
		return "-"
	}
	d := 100 * (got - want) / want
	mark := "ok"
	if d > pct || d < -pct {
		mark = "MISS"
	}
	return fmt.Sprintf("%+.1f%% %s", d, mark)
}

// atLeast reports got as a percentage of ref against a floor of pct percent, as a
// table cell.
func atLeast(got, ref, pct float64) string {
	if ref == 0 {
		return "-"
	}
	p := 100 * got / ref
	mark := "ok"
	if p < pct {
		mark = "MISS"
	}
	return fmt.Sprintf("%.1f%% %s", p, mark)
}

// atMost reports got against a ceiling, as a table cell with got formatted by format.
func atMost(got, ceiling float64, format string) string {
	mark := "ok"
	if got > ceiling {
		mark = "MISS"
	}
	return fmt.Sprintf(format+" %s", got, mark)
}

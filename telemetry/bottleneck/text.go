package bottleneck

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteText prints the report as a table and the verdict line.
func (r Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "worker loops: %d complete traces (%d skipped: failed or not fully arrived)\n\n", r.Loops, r.Skipped)
	line := func(cells ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-8s %6s %9s %9s %6s  %s", cells...), " "))
	}
	line("step", "count", "p50", "p95", "share", "")
	row := func(s Step, note string) {
		line(s.Name, strconv.Itoa(s.Count), Dur(s.P50), Dur(s.P95), pct(s.Share), note)
	}
	row(r.Loop, "")
	for _, s := range r.Steps {
		switch {
		case s.Name == "other":
			line(s.Name, "", "", "", pct(s.Share), "between steps")
		case s.Name == RNG && r.RNGQueue >= 0:
			row(s, pct(r.RNGQueue)+" of it waiting for the entropy slot")
		case s.Name == Pause:
			row(s, "deliberate, never the bottleneck")
		default:
			row(s, "")
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Verdict)
	return err
}

// Dur writes a duration with about three significant digits.
func Dur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", ms(d))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", ms(d))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

package testbed

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Metric fetches a Prometheus text page and sums the samples of the named metric whose
// labels contain every one of match (such as `state="failed"`). found is false when
// the page has no such sample.
func Metric(url, name string, match ...string) (sum float64, found bool, err error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		labels := ""
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[:end+1], rest[end+1:]
		}
		if !strings.HasPrefix(rest, " ") || !containsAll(labels, match) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", line, err)
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

package pause

import (
	"net/http"
	"strconv"
	"time"
)

// MaxRetryAfter caps what RetryAfter returns: a peer asking for more is not taken at
// its word.
const MaxRetryAfter = time.Hour

// RetryAfter is how long a Retry-After header value asks the caller to wait: whole
// seconds or an HTTP date, at most MaxRetryAfter. An empty, past or unreadable value
// asks for nothing.
func RetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(s, 0), int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), MaxRetryAfter)
	}
	return 0
}

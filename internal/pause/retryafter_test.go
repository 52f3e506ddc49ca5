package pause

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 0, "0": 0, "3": 3 * time.Second, "-1": 0, "soon": 0, "1.5": 0,
		"7200": MaxRetryAfter, "99999999999999999999": 0,
		time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat):     0,
		time.Now().Add(24 * time.Hour).UTC().Format(http.TimeFormat): MaxRetryAfter,
	} {
		if got := RetryAfter(in); got != want {
			t.Errorf("Retry-After %q: %v, want %v", in, got, want)
		}
	}
	if got := RetryAfter(time.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat)); got < 9*time.Minute || got > 10*time.Minute {
		t.Errorf("Retry-After ten minutes from now: %v", got)
	}
}

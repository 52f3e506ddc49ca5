package platform

import "runtime"

// FitProcs runs the service on at most want Ps (never more than it had), unless
// GOMAXPROCS (env) says otherwise, and returns the number in force. rng and hasher
// compute microseconds a request and the worker runs one loop at a time: a P they
// cannot use has nothing to run, yet the scheduler wakes it for every new goroutine and
// timer of a request (the HTTP deadlines), and those thread switches cost a quarter of
// their CPU at zero delay (rng 60 µs a request on 2 Ps, 46 on 1; hasher 62-65 against
// 44-47). Concurrency is untouched: waiting requests hold no P.
func FitProcs(want int, env string) int {
	if env != "" {
		return runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(min(max(want, 1), runtime.GOMAXPROCS(0)))
	return runtime.GOMAXPROCS(0)
}

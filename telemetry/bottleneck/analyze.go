// Package bottleneck reads the worker's loop traces and names the step that limits
// DockerCoins: per step of the loop it gives the count, p50, p95 and share of loop
// time, and for rng the share of the call spent waiting for an entropy slot.
package bottleneck

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/telemetry/jaeger"
)

// The span names the services give the loop and its steps, as package dockercoins
// defines them for the services that emit them.
const (
	Service = dockercoins.Worker
	Loop    = dockercoins.SpanLoop
	Pause   = dockercoins.SpanPause
	RNG     = dockercoins.SpanRNG
	Hasher  = dockercoins.SpanHasher
	Wait    = dockercoins.SpanWait // in rng, before the slot is held
	Hold    = dockercoins.SpanHold
	Workers = "workers" // the verdict when no service limits the loop
)

// Steps are the loop's steps in order.
var Steps = dockercoins.LoopSteps

// Thresholds for naming a bottleneck.
const (
	// QueueNamed: rng is named when waiting for its entropy slot takes at least this
	// share of the loop time: more rng capacity would shorten every loop.
	QueueNamed = 0.2
	// StepNamed: another service step is named when it takes at least this share.
	StepNamed = 0.5
)

// Step sums up one step over the loops read.
type Step struct {
	Name  string        `json:"name"`
	Count int           `json:"count"`
	P50   time.Duration `json:"-"`
	P95   time.Duration `json:"-"`
	Total time.Duration `json:"-"`
	Share float64       `json:"share"` // of the loops' total time
}

// MarshalJSON writes durations in milliseconds, for the web UI.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		P50 float64 `json:"p50_ms"`
		P95 float64 `json:"p95_ms"`
	}{plain(s), ms(s.P50), ms(s.P95)})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Report is the breakdown of the loops read and the verdict.
type Report struct {
	Loops   int    `json:"loops"`   // complete, successful loops analysed
	Skipped int    `json:"skipped"` // failed loops, or loops whose step spans were missing
	Loop    Step   `json:"loop"`
	Steps   []Step `json:"steps"` // pause, rng, hasher, then "other": loop time outside any step
	// RNGQueue is the share of the rng calls' time spent waiting for the entropy slot,
	// over the loops whose rng spans were found (RNGQueueLoops); -1 when none were.
	RNGQueue      float64 `json:"rng_queue"`
	RNGQueueLoops int     `json:"rng_queue_loops"`
	// Bottleneck is the step named: rng, hasher, "workers", or "" with no data.
	Bottleneck string `json:"bottleneck"`
	Verdict    string `json:"verdict"` // the one-line conclusion
}

// Step returns the named step of the report.
func (r Report) Step(name string) Step {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return Step{Name: name}
}

// Analyze breaks down the worker loops found in traces.
func Analyze(traces []jaeger.Trace) Report {
	var r Report
	loops := []time.Duration{}
	steps := map[string][]time.Duration{}
	var other, rngCalls, waited time.Duration
	for _, t := range traces {
		l, ok := analyzeTrace(Phases(t))
		switch {
		case !ok:
			continue // not a worker loop trace
		case !l.complete:
			r.Skipped++
			continue
		}
		loops = append(loops, l.loop)
		var inSteps time.Duration
		for _, name := range Steps {
			steps[name] = append(steps[name], l.steps[name])
			inSteps += l.steps[name]
		}
		other += max(0, l.loop-inSteps)
		if l.sawRNG {
			r.RNGQueueLoops++
			rngCalls += l.steps[RNG]
			waited += l.wait
		}
	}
	r.Loops = len(loops)
	r.Loop = summarize(Loop, loops, 0)
	r.Loop.Share = 1
	for _, name := range Steps {
		r.Steps = append(r.Steps, summarize(name, steps[name], r.Loop.Total))
	}
	if r.Loop.Total > 0 {
		r.Steps = append(r.Steps, Step{Name: "other", Total: other, Share: float64(other) / float64(r.Loop.Total)})
	}
	r.RNGQueue = -1
	if rngCalls > 0 {
		r.RNGQueue = min(1, float64(waited)/float64(rngCalls))
	}
	r.Bottleneck, r.Verdict = verdict(r)
	return r
}

// loopSpans is what one loop trace holds.
type loopSpans struct {
	loop     time.Duration
	steps    map[string]time.Duration
	wait     time.Duration // in rng's wait spans
	sawRNG   bool          // rng's own spans are in the trace
	complete bool          // succeeded, with every step's span
}

// analyzeTrace finds the worker's loop span in t and its steps. It reports false for
// a trace that is not a loop.
func analyzeTrace(t jaeger.Trace) (loopSpans, bool) {
	var root *jaeger.Span
	for i, s := range t.Spans {
		if s.OperationName == Loop && s.Parent() == "" && t.Service(s) == Service {
			root = &t.Spans[i]
			break
		}
	}
	if root == nil {
		return loopSpans{}, false
	}
	l := loopSpans{loop: root.Dur(), steps: map[string]time.Duration{}}
	failed := root.Failed()
	for _, s := range t.Spans {
		switch {
		case s.Parent() == root.SpanID && t.Service(s) == Service && slices.Contains(Steps, s.OperationName):
			l.steps[s.OperationName] += s.Dur()
		case s.OperationName == Wait && t.Service(s) == RNG:
			l.wait += s.Dur()
			l.sawRNG = true
		case s.OperationName == Hold && t.Service(s) == RNG:
			l.sawRNG = true
		}
	}
	l.complete = !failed
	for _, name := range Steps {
		// A worker with WORKER_PAUSE=0 makes no pause span: its pause is nil, not lost.
		if _, ok := l.steps[name]; !ok && name != Pause {
			l.complete = false
		}
	}
	return l, true
}

// summarize gives count, p50, p95, total and share of loop time of durations ds.
func summarize(name string, ds []time.Duration, loopTotal time.Duration) Step {
	s := Step{Name: name, Count: len(ds)}
	if len(ds) == 0 {
		return s
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	s.P50, s.P95 = percentile(sorted, 0.50), percentile(sorted, 0.95)
	for _, d := range ds {
		s.Total += d
	}
	if loopTotal > 0 {
		s.Share = float64(s.Total) / float64(loopTotal)
	}
	return s
}

// percentile is the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

package bottleneck

import (
	"fmt"
	"strings"
)

// verdict names what limits the loop. rng comes first when its callers queue for the
// entropy slot: that is the one wait more instances remove. Otherwise a service step
// that takes most of the loop is named. The pause is deliberate and never named: when
// nothing else stands out, each worker is simply busy with its own loop, and more
// workers mine more.
func verdict(r Report) (name, line string) {
	if r.Loops == 0 {
		return "", "no complete worker loop traces found: is tracing on (OTEL_EXPORTER_OTLP_ENDPOINT) and a worker mining?"
	}
	rng := r.Step(RNG)
	if r.RNGQueue >= 0 && rng.Share*r.RNGQueue >= QueueNamed {
		return RNG, fmt.Sprintf("bottleneck: rng — %s of loop time, %s of it waiting for the entropy slot; scale rng",
			pct(rng.Share), pct(r.RNGQueue))
	}
	top := Step{}
	for _, s := range r.Steps {
		if s.Name != Pause && s.Name != "other" && s.Share > top.Share {
			top = s
		}
	}
	if top.Share >= StepNamed {
		if top.Name == RNG && r.RNGQueue >= 0 {
			return RNG, fmt.Sprintf("bottleneck: rng — %s of loop time, but only %s of it waiting for the entropy slot: rng is slow, not overloaded; make it faster",
				pct(rng.Share), pct(r.RNGQueue))
		}
		return top.Name, fmt.Sprintf("bottleneck: %s — %s of loop time; make %s faster or scale it", top.Name, pct(top.Share), top.Name)
	}
	var parts []string
	for _, s := range r.Steps {
		if s.Name == RNG || s.Name == Hasher {
			parts = append(parts, s.Name+" "+pct(s.Share))
		}
	}
	queue := "rng queueing not measured"
	if r.RNGQueue >= 0 {
		queue = "rng queueing " + pct(rng.Share*r.RNGQueue)
	}
	return Workers, fmt.Sprintf("bottleneck: the workers — no service dominates the loop (%s of loop time, %s); add workers",
		strings.Join(parts, ", "), queue)
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

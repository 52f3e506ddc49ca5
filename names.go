package dockercoins

// Redis keys. HashesKey and WalletKey are the original's, which its tools and the
// workshop's exercises read; the others are this project's.
const (
	HashesKey     = "hashes"   // loops completed, all workers together
	WalletKey     = "wallet"   // coin hash -> the random bytes it came from
	SpeedPrefix   = "speed:"   // + unix second: loops completed in that second
	AppliedPrefix = "applied:" // + worker id: the last batch Seq applied
	OwnerPrefix   = "owner:"   // + worker id: the process holding that identity's lease
)

// Span and event names. A worker loop is one trace: SpanLoop, holding the batch the
// loop was counted in, with an event per step (SpanPause, SpanRNG, SpanHasher) at the
// step's start, its length in EventStepDuration; the report and the waterfall read
// each as a child span of the loop, holding the server span of the call it made. rng
// marks on its request's span the moment it takes its entropy slot (EventSlotHeld),
// which splits the call into waiting for the slot and holding it: SpanWait and
// SpanHold, the names the report and the waterfall give the two parts. A flush is a
// trace of its own.
const (
	SpanLoop      = "loop"
	SpanPause     = "pause"
	SpanRNG       = "rng"
	SpanHasher    = "hasher"
	SpanFlush     = "flush"
	EventSlotHeld = "entropy slot held"
	// EventStepDuration is a step event's attribute: the step's length in µs.
	EventStepDuration = "step.duration_us"
	SpanWait          = "wait for entropy slot" // in rng, before the slot is held
	SpanHold          = "hold entropy slot"     // in rng, the deliberate delay
)

// LoopSteps are the loop's steps in order.
var LoopSteps = []string{SpanPause, SpanRNG, SpanHasher}

// Wire details the original services expect.
const (
	// HealthPath answers 200 at once on every service: what Consul, Nomad and container
	// health checks call. GET / is the original's greeting, and on rng it waits its turn
	// behind the random-byte requests, as the original's does.
	HealthPath = "/healthz"

	// HashContentType is what the original worker sends with its POST to hasher; a
	// Sinatra hasher given a body without it parses the bytes as form fields.
	HashContentType = "application/octet-stream"
	// RandomContentType is what rng answers with.
	RandomContentType = "application/octet-stream"
)

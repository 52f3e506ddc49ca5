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

// Span names. A worker loop is one trace: SpanLoop with a child per step; rng splits
// its time into waiting for and holding its entropy slot; a flush is a trace of its own.
const (
	SpanLoop   = "loop"
	SpanPause  = "pause"
	SpanRNG    = "rng"
	SpanHasher = "hasher"
	SpanCount  = "count"
	SpanFlush  = "flush"
	SpanWait   = "wait for entropy slot" // in rng, before the slot is held
	SpanHold   = "hold entropy slot"     // in rng, the deliberate delay
)

// LoopSteps are the loop's steps in order.
var LoopSteps = []string{SpanPause, SpanRNG, SpanHasher, SpanCount}

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

package dockercoins

// Batch is a worker's tally since its last flush, applied to the Ledger as one unit.
type Batch struct {
	Seq     uint64            // increases by one per batch of a worker; makes Apply idempotent
	Hashes  int64             // loops completed
	Coins   map[string][]byte // coin hash -> the random bytes it came from
	Seconds map[int64]int64   // unix second -> loops completed in it
}

// Empty reports whether the batch carries nothing.
func (b Batch) Empty() bool { return b.Hashes == 0 && len(b.Coins) == 0 }

// Stats is what the web UI serves at GET /json: the original's coins, hashes and now,
// plus the exact speed and its recent series.
type Stats struct {
	Coins  int64     `json:"coins"`
	Hashes int64     `json:"hashes"`
	Now    float64   `json:"now"`    // unix seconds
	Speed  float64   `json:"speed"`  // hashes per second over the last settled seconds
	Series []float64 `json:"series"` // Speed at each of the last points seconds, oldest first
}

// WorkerStatus is what a worker serves at GET /: its own count since it started.
type WorkerStatus struct {
	Hostname string `json:"hostname"`
	ID       string `json:"id"`      // the worker's identity in the ledger
	Loops    int64  `json:"loops"`   // completed since start, flushed or not
	Coins    int64  `json:"coins"`   // coins among them
	Flushed  int64  `json:"flushed"` // loops Redis has acknowledged
	Pending  int64  `json:"pending"` // loops not yet in Redis, replayed ones included
	// Replayed counts the loops a previous process with this identity completed and
	// left in the journal, which this one flushes for it.
	Replayed int64 `json:"replayed"`
	// Anomalies counts batches the ledger called already applied when it cannot have
	// been (on their first attempt, or after it refused them): their loops are neither
	// flushed nor pending, and the log names each one.
	Anomalies int64 `json:"anomalies"`
}

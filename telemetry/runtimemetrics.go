package telemetry

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// This file makes the Go runtime's metrics a Prometheus user expects, named, described
// and computed as client_golang's Go collector (with its default settings) does:
// go_goroutines, go_threads, go_info, go_gc_duration_seconds, the go_memstats_* family
// read from runtime/metrics, and go_gc_gogc_percent, go_gc_gomemlimit_bytes and
// go_sched_gomaxprocs_threads; the process_* metrics come from processmetrics.go.

// runtimeMetrics reads the runtime's metrics for one scrape at a time (the handler
// serialises them), reusing its sample buffer.
type runtimeMetrics struct {
	samples []metrics.Sample
	index   map[string]int // sample name to its place in samples
	// exposed are the runtime/metrics values served under a name of their own.
	exposed []exposedSample
	proc    *processMetrics
}

type exposedSample struct {
	sample    string
	name      string
	help      string
	counter   bool
	available bool // the runtime has this metric
}

// memStat is one go_memstats_* gauge or counter, computed from runtime/metrics.
type memStat struct {
	name, help string
	counter    bool
	value      func(get func(string) uint64) uint64
}

// The runtime/metrics names the go_memstats_* metrics are computed from.
const (
	rmTinyAllocs    = "/gc/heap/tiny/allocs:objects"
	rmAllocsObjects = "/gc/heap/allocs:objects"
	rmFreesObjects  = "/gc/heap/frees:objects"
	rmAllocsBytes   = "/gc/heap/allocs:bytes"
	rmHeapObjects   = "/gc/heap/objects:objects"
	rmHeapGoal      = "/gc/heap/goal:bytes"
	rmTotal         = "/memory/classes/total:bytes"
	rmHeapObjBytes  = "/memory/classes/heap/objects:bytes"
	rmHeapUnused    = "/memory/classes/heap/unused:bytes"
	rmHeapReleased  = "/memory/classes/heap/released:bytes"
	rmHeapFree      = "/memory/classes/heap/free:bytes"
	rmHeapStacks    = "/memory/classes/heap/stacks:bytes"
	rmOSStacks      = "/memory/classes/os-stacks:bytes"
	rmMSpanInuse    = "/memory/classes/metadata/mspan/inuse:bytes"
	rmMSpanFree     = "/memory/classes/metadata/mspan/free:bytes"
	rmMCacheInuse   = "/memory/classes/metadata/mcache/inuse:bytes"
	rmMCacheFree    = "/memory/classes/metadata/mcache/free:bytes"
	rmProfBuckets   = "/memory/classes/profiling/buckets:bytes"
	rmMetadataOther = "/memory/classes/metadata/other:bytes"
	rmOther         = "/memory/classes/other:bytes"
	rmGOGC          = "/gc/gogc:percent"
	rmGOMEMLIMIT    = "/gc/gomemlimit:bytes"
	rmGOMAXPROCS    = "/sched/gomaxprocs:threads"
)

// memStats are client_golang's go_memstats_* metrics, with its HELP texts.
var memStats = []memStat{
	{"go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapObjBytes) }},
	{"go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", true,
		func(g func(string) uint64) uint64 { return g(rmAllocsBytes) }},
	{"go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", false,
		func(g func(string) uint64) uint64 { return g(rmTotal) }},
	{"go_memstats_mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", true,
		func(g func(string) uint64) uint64 { return g(rmAllocsObjects) + g(rmTinyAllocs) }},
	{"go_memstats_frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", true,
		func(g func(string) uint64) uint64 { return g(rmFreesObjects) + g(rmTinyAllocs) }},
	{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapObjBytes) }},
	{"go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", false,
		func(g func(string) uint64) uint64 {
			return g(rmHeapObjBytes) + g(rmHeapUnused) + g(rmHeapReleased) + g(rmHeapFree)
		}},
	{"go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapReleased) + g(rmHeapFree) }},
	{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", false,
		func(g func(string) uint64) uint64 { return g(rmHeapObjBytes) + g(rmHeapUnused) }},
	{"go_memstats_heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapReleased) }},
	{"go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapObjects) }},
	{"go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapStacks) }},
	{"go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapStacks) + g(rmOSStacks) }},
	{"go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmMSpanInuse) }},
	{"go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmMSpanInuse) + g(rmMSpanFree) }},
	{"go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmMCacheInuse) }},
	{"go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmMCacheInuse) + g(rmMCacheFree) }},
	{"go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmProfBuckets) }},
	{"go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmMetadataOther) }},
	{"go_memstats_other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmOther) }},
	{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", false,
		func(g func(string) uint64) uint64 { return g(rmHeapGoal) }},
}

func newRuntimeMetrics() *runtimeMetrics {
	rm := &runtimeMetrics{
		index: map[string]int{},
		exposed: []exposedSample{
			{sample: rmGOGC, name: "go_gc_gogc_percent"},
			{sample: rmGOMEMLIMIT, name: "go_gc_gomemlimit_bytes"},
			{sample: rmGOMAXPROCS, name: "go_sched_gomaxprocs_threads"},
		},
		proc: newProcessMetrics(),
	}
	known := map[string]metrics.Description{}
	for _, d := range metrics.All() {
		known[d.Name] = d
	}
	for i := range rm.exposed {
		e := &rm.exposed[i]
		if d, ok := known[e.sample]; ok && d.Kind == metrics.KindUint64 {
			e.available, e.counter = true, d.Cumulative
			e.help = d.Description + " Sourced from " + e.sample + "."
			rm.add(e.sample)
		}
	}
	for _, name := range []string{rmTinyAllocs, rmAllocsObjects, rmFreesObjects, rmAllocsBytes, rmHeapObjects,
		rmHeapGoal, rmTotal, rmHeapObjBytes, rmHeapUnused, rmHeapReleased, rmHeapFree, rmHeapStacks,
		rmOSStacks, rmMSpanInuse, rmMSpanFree, rmMCacheInuse, rmMCacheFree, rmProfBuckets,
		rmMetadataOther, rmOther} {
		if d, ok := known[name]; ok && d.Kind == metrics.KindUint64 {
			rm.add(name)
		}
	}
	return rm
}

func (rm *runtimeMetrics) add(name string) {
	if _, ok := rm.index[name]; !ok {
		rm.index[name] = len(rm.samples)
		rm.samples = append(rm.samples, metrics.Sample{Name: name})
	}
}

// get is a sample's value from the last read, 0 for one the runtime lacks.
func (rm *runtimeMetrics) get(name string) uint64 {
	if i, ok := rm.index[name]; ok && rm.samples[i].Value.Kind() == metrics.KindUint64 {
		return rm.samples[i].Value.Uint64()
	}
	return 0
}

// families reads the runtime and the process and appends their families to fams.
func (rm *runtimeMetrics) families(fams []*family) []*family {
	gauge := func(name, help string, v float64) *family {
		return &family{name: name, help: help, typ: typeGauge, points: []point{{value: v}}}
	}
	threads, _ := runtime.ThreadCreateProfile(nil)
	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5) // min, 25%, 50%, 75%, max
	debug.ReadGCStats(&gc)
	pauses := make([]bucket, len(gc.PauseQuantiles))
	for i, q := range gc.PauseQuantiles {
		pauses[i] = bucket{bound: float64(i) / 4, value: q.Seconds()}
	}
	fams = append(fams,
		gauge("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine())),
		gauge("go_threads", "Number of OS threads created.", float64(threads)),
		&family{name: "go_gc_duration_seconds", typ: typeSummary,
			help:   "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.",
			points: []point{{buckets: pauses, sum: gc.PauseTotal.Seconds(), count: uint64(gc.NumGC)}}},
		gauge("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", float64(gc.LastGC.UnixNano())/1e9),
		&family{name: "go_info", help: "Information about the Go environment.", typ: typeGauge,
			points: []point{{labels: []label{{"version", runtime.Version()}}, value: 1}}},
	)
	metrics.Read(rm.samples)
	for _, e := range rm.exposed {
		if !e.available {
			continue
		}
		f := gauge(e.name, e.help, float64(rm.get(e.sample)))
		if e.counter {
			f.typ = typeCounter
		}
		fams = append(fams, f)
	}
	for _, m := range memStats {
		f := gauge(m.name, m.help, float64(m.value(rm.get)))
		if m.counter {
			f.typ = typeCounter
		}
		fams = append(fams, f)
	}
	return rm.proc.families(fams)
}

package telemetry

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// This file makes client_golang's process_* metrics from /proc/self, as its process
// collector does on Linux: CPU time, memory, file descriptors and their limit, start
// time and the network namespace's bytes in and out. Where /proc cannot be read (another
// OS, a locked-down sandbox) a metric is left out, as client_golang leaves it out.

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux platform Go
// runs on.
const clockTicks = 100

// processMetrics holds what does not change: the machine's boot time, from which the
// process's start time is counted.
type processMetrics struct {
	bootTime float64 // seconds since 1970; 0 when unknown
	pageSize float64
	buf      []byte
}

func newProcessMetrics() *processMetrics {
	p := &processMetrics{pageSize: float64(os.Getpagesize())}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				p.bootTime, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return p
}

// families appends the process's metrics to fams.
func (p *processMetrics) families(fams []*family) []*family {
	add := func(name, typ, help string, v float64) {
		fams = append(fams, &family{name: name, help: help, typ: typ, points: []point{{value: v}}})
	}
	if f := p.statFields(); f != nil {
		utime, _ := strconv.ParseFloat(string(f[11]), 64)
		stime, _ := strconv.ParseFloat(string(f[12]), 64)
		start, _ := strconv.ParseFloat(string(f[19]), 64)
		vsize, _ := strconv.ParseFloat(string(f[20]), 64)
		rss, _ := strconv.ParseFloat(string(f[21]), 64)
		add("process_cpu_seconds_total", typeCounter, "Total user and system CPU time spent in seconds.", (utime+stime)/clockTicks)
		add("process_virtual_memory_bytes", typeGauge, "Virtual memory size in bytes.", vsize)
		add("process_resident_memory_bytes", typeGauge, "Resident memory size in bytes.", rss*p.pageSize)
		if p.bootTime > 0 {
			add("process_start_time_seconds", typeGauge, "Start time of the process since unix epoch in seconds.", p.bootTime+start/clockTicks)
		}
	}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			add("process_open_fds", typeGauge, "Number of open file descriptors.", float64(len(names)))
		}
	}
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		if v, ok := softLimit(b, "Max open files"); ok {
			add("process_max_fds", typeGauge, "Maximum number of open file descriptors.", v)
		}
		if v, ok := softLimit(b, "Max address space"); ok {
			add("process_virtual_memory_max_bytes", typeGauge, "Maximum amount of virtual memory available in bytes.", v)
		}
	}
	if in, out, ok := netOctets(); ok {
		add("process_network_receive_bytes_total", typeCounter, "Number of bytes received by the process over the network.", in)
		add("process_network_transmit_bytes_total", typeCounter, "Number of bytes sent by the process over the network.", out)
	}
	return fams
}

// statFields reads /proc/self/stat and returns its fields after the command name (which
// is in parentheses and may hold spaces): state is field 0, utime 11, stime 12,
// starttime 19, vsize 20, rss 21.
func (p *processMetrics) statFields() [][]byte {
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		return nil
	}
	defer f.Close()
	if cap(p.buf) < 1024 {
		p.buf = make([]byte, 1024)
	}
	n, _ := f.Read(p.buf[:cap(p.buf)])
	b := p.buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return nil
	}
	fields := bytes.Fields(b[i+2:])
	if len(fields) < 22 {
		return nil
	}
	return fields
}

// softLimit reads a soft limit from /proc/self/limits; "unlimited" is the largest
// uint64, as client_golang reports it.
func softLimit(limits []byte, name string) (float64, bool) {
	for _, line := range strings.Split(string(limits), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		if f[0] == "unlimited" {
			return float64(^uint64(0)), true
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}

// netOctets reads the bytes received and sent in the process's network namespace, from
// the IpExt lines of /proc/self/net/netstat: a line of names, then one of values.
func netOctets() (in, out float64, ok bool) {
	b, err := os.ReadFile("/proc/self/net/netstat")
	if err != nil {
		return 0, 0, false
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "IpExt:") || !strings.HasPrefix(lines[i+1], "IpExt:") {
			continue
		}
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j := 1; j < len(names) && j < len(values); j++ {
			switch names[j] {
			case "InOctets":
				in, _ = strconv.ParseFloat(values[j], 64)
			case "OutOctets":
				out, _ = strconv.ParseFloat(values[j], 64)
			}
		}
		return in, out, true
	}
	return 0, 0, false
}

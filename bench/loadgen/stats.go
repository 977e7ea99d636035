package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measured run of one workload against one server, written
// as one JSON line.
type Result struct {
	Server    string         `json:"server"`
	Workload  string         `json:"workload"`
	Run       int            `json:"run"`
	Conns     int            `json:"conns"`
	Workers   int            `json:"workers"`
	Calls     int64          `json:"calls"`
	Errors    int64          `json:"errors"`
	FirstErr  string         `json:"first_error,omitempty"`
	Ops       map[string]int `json:"ops"`
	Seconds   float64        `json:"seconds"`
	CallsPerS float64        `json:"calls_per_s"`
	P50us     float64        `json:"p50_us"`
	P99us     float64        `json:"p99_us"`
	Bytes     int64          `json:"bytes,omitempty"`
	MiBPerS   float64        `json:"mib_per_s,omitempty"`
	// Server process figures, set when -pid names the server process.
	CPUSeconds   float64 `json:"server_cpu_s,omitempty"`
	CPUusPerCall float64 `json:"server_cpu_us_per_call,omitempty"`
	RSSHWMKiB    int64   `json:"server_rss_hwm_kib,omitempty"`
}

// recorder collects call latencies and counts for one measured phase.
// Each worker appends to its own sample, so the hot path takes no lock.
type recorder struct {
	start    time.Time
	deadline time.Time
	maxCalls int64

	calls  atomic.Int64
	errors atomic.Int64

	mu       sync.Mutex
	firstErr error
	samples  []*sample
}

// sample is one worker's latencies and per-procedure call counts.
type sample struct {
	lat []time.Duration
	ops map[string]int
}

func newRecorder(duration time.Duration, maxCalls int64) *recorder {
	now := time.Now()
	return &recorder{start: now, deadline: now.Add(duration), maxCalls: maxCalls}
}

func (r *recorder) newSample() *sample {
	s := &sample{lat: make([]time.Duration, 0, 4096), ops: make(map[string]int)}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
	return s
}

// more reports whether the phase may start another call: the deadline has
// not passed and the call budget is not used up. It reserves one call of
// the budget.
func (r *recorder) more() bool {
	if time.Now().After(r.deadline) {
		return false
	}
	return r.calls.Add(1) <= r.maxCalls
}

// done records one finished call.
func (s *sample) done(op string, started time.Time) {
	s.lat = append(s.lat, time.Since(started))
	s.ops[op]++
}

// fail counts a failed call and keeps the first error for the report.
func (r *recorder) fail(err error) {
	r.errors.Add(1)
	r.mu.Lock()
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.mu.Unlock()
}

// result summarizes the phase, which ended at end.
func (r *recorder) result(end time.Time) Result {
	var lat []time.Duration
	ops := make(map[string]int)
	for _, s := range r.samples {
		lat = append(lat, s.lat...)
		for op, n := range s.ops {
			ops[op] += n
		}
	}
	slices.Sort(lat)
	secs := end.Sub(r.start).Seconds()
	res := Result{
		Calls:   int64(len(lat)),
		Errors:  r.errors.Load(),
		Ops:     ops,
		Seconds: secs,
		P50us:   percentile(lat, 0.50),
		P99us:   percentile(lat, 0.99),
	}
	if secs > 0 {
		res.CallsPerS = float64(len(lat)) / secs
	}
	if r.firstErr != nil {
		res.FirstErr = r.firstErr.Error()
	}
	return res
}

// percentile returns the q quantile of the sorted latencies in
// microseconds, by the nearest-rank method.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Microsecond)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// NOTE: it is 100 on every Linux architecture Go supports, but the code
// does not ask sysconf(_SC_CLK_TCK), which Go's standard library lacks.
const clockTicks = 100

// processCPU returns the user plus system CPU time that process pid has
// used, from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in brackets may contain spaces, so the fields are
	// counted from the closing bracket: state is field 3, utime 14 and
	// stime 15.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("invalid /proc/%d/stat: no closing bracket", pid)
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("invalid /proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("invalid utime or stime in /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// peakRSS returns VmHWM, the peak resident set size of process pid in KiB,
// from /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid VmHWM line in /proc/%d/status: %q", pid, sc.Text())
		}
		return kib, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM line in /proc/%d/status", pid)
}

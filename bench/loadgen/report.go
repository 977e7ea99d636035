package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Servers and workloads in report order. The first server is the one the
// ratios compare with the others.
var (
	reportServers   = []string{"burrow", "ganesha", "go-nfs"}
	reportWorkloads = []string{"meta", "smallfile", "write1m", "read1m", "randread"}
)

// targets are the ratios burrow aims for against each other server, by
// workload.
var targets = map[string]map[string]float64{
	"ganesha": {"meta": 2, "smallfile": 2, "write1m": 1, "read1m": 1},
	"go-nfs":  {"meta": 3, "smallfile": 3, "write1m": 1, "read1m": 1},
}

// summary is the median of the runs of one server and workload.
type summary struct {
	runs      int
	errors    int64
	firstErr  string
	callsPerS float64
	p50, p99  float64
	mibPerS   float64
	cpuPerOp  float64
	rssKiB    int64
	ops       map[string]int
}

func reportCommand(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "", "JSON lines written by loadgen run -out")
	header := fs.String("header", "", "Markdown file to put before the tables in -md")
	footer := fs.String("footer", "", "Markdown file to put after the tables in -md")
	md := fs.String("md", "", "Markdown file to write (default: print the tables only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("missing -in FILE")
	}

	results, err := readResults(*in)
	if err != nil {
		return err
	}
	tables := formatTables(summarize(results))
	fmt.Print(tables)
	if *md == "" {
		return nil
	}

	var b strings.Builder
	for _, part := range []string{*header, "", *footer} {
		if part == "" {
			b.WriteString(tables)
			continue
		}
		text, err := os.ReadFile(part)
		if err != nil {
			return err
		}
		b.Write(text)
		b.WriteString("\n")
	}
	return os.WriteFile(*md, []byte(b.String()), 0o644)
}

func readResults(path string) ([]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Result
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarize groups results by workload and server and takes the median of
// each figure over the runs. Peak RSS is the maximum, because VmHWM only
// grows over the life of the process.
func summarize(results []Result) map[string]map[string]*summary {
	type acc struct {
		calls, p50, p99, mib, cpu []float64
		s                         summary
	}
	groups := map[string]map[string]*acc{}
	for _, r := range results {
		if groups[r.Workload] == nil {
			groups[r.Workload] = map[string]*acc{}
		}
		a := groups[r.Workload][r.Server]
		if a == nil {
			a = &acc{s: summary{ops: map[string]int{}}}
			groups[r.Workload][r.Server] = a
		}
		a.calls = append(a.calls, r.CallsPerS)
		a.p50 = append(a.p50, r.P50us)
		a.p99 = append(a.p99, r.P99us)
		a.mib = append(a.mib, r.MiBPerS)
		a.cpu = append(a.cpu, r.CPUusPerCall)
		a.s.runs++
		a.s.errors += r.Errors
		if a.s.firstErr == "" {
			a.s.firstErr = r.FirstErr
		}
		a.s.rssKiB = max(a.s.rssKiB, r.RSSHWMKiB)
		for op, n := range r.Ops {
			a.s.ops[op] += n
		}
	}
	out := map[string]map[string]*summary{}
	for w, byServer := range groups {
		out[w] = map[string]*summary{}
		for srv, a := range byServer {
			s := a.s
			s.callsPerS = median(a.calls)
			s.p50 = median(a.p50)
			s.p99 = median(a.p99)
			s.mibPerS = median(a.mib)
			s.cpuPerOp = median(a.cpu)
			out[w][srv] = &s
		}
	}
	return out
}

// ordered returns the known names that occur in present, in the order of
// known, then the others sorted.
func ordered[V any](known []string, present map[string]V) []string {
	var out []string
	for _, k := range known {
		if _, ok := present[k]; ok {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range present {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// throughput is the figure the ratios compare: MiB/s for the sequential
// workloads and calls/s for the others.
func throughput(workload string, s *summary) float64 {
	if workload == "write1m" || workload == "read1m" {
		return s.mibPerS
	}
	return s.callsPerS
}

func formatTables(sums map[string]map[string]*summary) string {
	var b strings.Builder
	writeResults(&b, sums)
	writeRatios(&b, sums)
	writeMix(&b, sums)
	return b.String()
}

func writeResults(b io.Writer, sums map[string]map[string]*summary) {
	fmt.Fprintln(b, "| workload | server | runs | calls/s | p50 µs | p99 µs | MiB/s | server CPU µs/call | server peak RSS MiB | errors |")
	fmt.Fprintln(b, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, w := range ordered(reportWorkloads, sums) {
		for _, srv := range ordered(reportServers, sums[w]) {
			s := sums[w][srv]
			mib := "-"
			if s.mibPerS > 0 {
				mib = fmt.Sprintf("%.0f", s.mibPerS)
			}
			cpu, rss := "-", "-"
			if s.cpuPerOp > 0 {
				cpu = fmt.Sprintf("%.1f", s.cpuPerOp)
			}
			if s.rssKiB > 0 {
				rss = fmt.Sprintf("%.1f", float64(s.rssKiB)/1024)
			}
			fmt.Fprintf(b, "| %s | %s | %d | %.0f | %.0f | %.0f | %s | %s | %s | %d |\n",
				w, srv, s.runs, s.callsPerS, s.p50, s.p99, mib, cpu, rss, s.errors)
		}
	}
	fmt.Fprintln(b)
	for _, w := range ordered(reportWorkloads, sums) {
		for _, srv := range ordered(reportServers, sums[w]) {
			if s := sums[w][srv]; s.firstErr != "" {
				fmt.Fprintf(b, "First error of %s on %s: `%s`\n\n", srv, w, s.firstErr)
			}
		}
	}
}

func writeRatios(b io.Writer, sums map[string]map[string]*summary) {
	fmt.Fprintln(b, "Ratios of burrow's median throughput (calls/s, or MiB/s for write1m and read1m) to each other server's; the target follows in brackets:")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| workload | burrow/ganesha | burrow/go-nfs |")
	fmt.Fprintln(b, "| --- | ---: | ---: |")
	for _, w := range ordered(reportWorkloads, sums) {
		burrow := sums[w]["burrow"]
		fmt.Fprintf(b, "| %s", w)
		for _, other := range []string{"ganesha", "go-nfs"} {
			peer := sums[w][other]
			cell := "-"
			if burrow != nil && peer != nil && throughput(w, peer) > 0 {
				ratio := throughput(w, burrow) / throughput(w, peer)
				cell = fmt.Sprintf("%.2f", ratio)
				if goal, ok := targets[other][w]; ok {
					mark := "met"
					if ratio < goal {
						mark = "missed"
					}
					cell += fmt.Sprintf(" (≥ %.0f: %s)", goal, mark)
				}
			}
			fmt.Fprintf(b, " | %s", cell)
		}
		fmt.Fprintln(b, " |")
	}
	fmt.Fprintln(b)
}

// writeMix lists the procedures each workload sent to burrow, so that a
// reader can see what one "call" of the workload is.
func writeMix(b io.Writer, sums map[string]map[string]*summary) {
	fmt.Fprintln(b, "Calls each workload sent, summed over burrow's runs:")
	fmt.Fprintln(b)
	for _, w := range ordered(reportWorkloads, sums) {
		s := sums[w]["burrow"]
		if s == nil {
			continue
		}
		var parts []string
		for _, op := range ordered(nil, s.ops) {
			parts = append(parts, fmt.Sprintf("%s %d", op, s.ops[op]))
		}
		fmt.Fprintf(b, "- %s: %s\n", w, strings.Join(parts, ", "))
	}
	fmt.Fprintln(b)
}

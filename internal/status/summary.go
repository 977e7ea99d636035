package status

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// WriteSummary prints s for a person: the server, its clients and a table
// of calls per procedure. Times are printed in the zone of now, and the
// client connection ages are measured against now.
func WriteSummary(w io.Writer, s Snapshot, now time.Time) error {
	uptime := time.Duration(s.UptimeSeconds * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(w, "burrow %s, pid %d, up %s (since %s)\n", s.Version, s.PID, uptime, s.Started.In(now.Location()).Format(time.DateTime))
	fmt.Fprintf(w, "export:     %s\n", s.Export)
	fmt.Fprintf(w, "listen:     %s\n", s.Listen)
	if s.Portmapper != "" {
		fmt.Fprintf(w, "portmapper: %s\n", s.Portmapper)
	} else {
		fmt.Fprintf(w, "portmapper: off\n")
	}

	fmt.Fprintf(w, "clients:    %d connected, %d connections since start\n", len(s.Clients), s.ConnectionsTotal)
	if len(s.Clients) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  REMOTE\tCONNECTED\tFOR\tIN\tOUT")
		for _, c := range s.Clients {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Remote,
				c.Connected.In(now.Location()).Format(time.DateTime),
				now.Sub(c.Connected).Round(time.Second),
				formatBytes(c.BytesIn), formatBytes(c.BytesOut))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "calls:      %d, %d with RPC errors\n", s.Calls, s.Errors)
	if len(s.Procedures) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PROGRAM\tVERS\tPROCEDURE\tCALLS\tERRORS\tMEAN")
	for _, p := range s.Procedures {
		vers := strconv.FormatUint(uint64(p.Vers), 10)
		if p.Prog == unregisteredProg {
			vers = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\n", p.Program, vers, p.Procedure, p.Calls, p.Errors, meanDuration(p))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range s.Procedures {
		if p.LastError != "" {
			fmt.Fprintf(w, "last error of %s %s: %s\n", p.Program, p.Procedure, p.LastError)
		}
	}
	return nil
}

// meanDuration returns the mean time per call, rounded to a precision that
// suits its size.
func meanDuration(p ProcedureStats) string {
	if p.Calls == 0 {
		return "-"
	}
	d := time.Duration(p.TotalSeconds / float64(p.Calls) * float64(time.Second))
	switch {
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	default:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

// formatBytes prints n in binary units with one decimal.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

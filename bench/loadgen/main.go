// Command loadgen measures an NFSv3 server by speaking the protocol
// directly over several TCP connections with many calls in flight.
//
//	loadgen run -server NAME -addr 127.0.0.1:PORT -export PATH -workload W [flags]
//	loadgen report -in results.jsonl [-header FILE] [-md OUT.md]
//
// "run" measures one workload once and appends one JSON line per measured
// phase to -out. "report" takes the median of the runs of each server and
// workload and prints the tables, with the ratios of burrow to the other
// servers. The workloads are:
//
//	meta       walk a tree: READDIRPLUS, LOOKUP, GETATTR, ACCESS
//	smallfile  CREATE, WRITE 4 KiB, COMMIT, REMOVE per file
//	seq        1 MiB sequential WRITEs and a COMMIT, then 1 MiB sequential
//	           READs of the same file (reported as write1m and read1m)
//	randread   4 KiB READs at random offsets of an existing file
//
// Every phase stops at -duration or after -max-calls calls, whichever
// comes first. Servers must be on loopback addresses.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCommand(os.Args[2:])
	case "report":
		err = reportCommand(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen run [flags]   (loadgen run -h lists them)")
	fmt.Fprintln(os.Stderr, "       loadgen report [flags]")
	os.Exit(2)
}

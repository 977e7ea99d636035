package main

import "time"

// allCases returns every case in the order the suite runs them.
func allCases() []testCase {
	return []testCase{
		{name: "realinput/gosrc", timeout: 5 * time.Minute, run: caseGoSource},
		{name: "realinput/git", timeout: 5 * time.Minute, run: caseGit},
	}
}

package main

import "time"

// allCases returns every case in the order the suite runs them.
func allCases() []testCase {
	cases := []testCase{
		{name: "realinput/gosrc", timeout: 5 * time.Minute, run: caseGoSource},
		{name: "realinput/git", timeout: 5 * time.Minute, run: caseGit},

		{name: "posix/identity", run: caseIdentity},
		{name: "posix/restart", timeout: 4 * time.Minute, run: caseRestart},
		{name: "posix/readdir-large", timeout: 5 * time.Minute, run: caseReaddirLarge},
		{name: "posix/readdir-mutate", timeout: 4 * time.Minute, run: caseReaddirMutate},
		{name: "posix/excl-create", run: caseExclusiveCreate},
		{name: "posix/excl-create-retry", run: caseExclusiveCreateRetry},
		{name: "posix/create-readonly", run: caseCreateReadOnly},
		{name: "posix/rename-over-file", run: caseRenameOverFile},
		{name: "posix/rename-over-dir", run: caseRenameOverDir},
		{name: "posix/rename-missing", run: caseRenameMissing},
		{name: "posix/rename-lockfile", run: caseLockFileRename},
		{name: "posix/truncate-on-open", run: caseTruncateOnOpen},
		{name: "posix/truncate-sparse", run: caseTruncateSparse},
		{name: "posix/shrink-grow", run: caseShrinkGrow},
		{name: "posix/setattr-guard", run: caseSetattrGuard},
		{name: "posix/large-file", timeout: 4 * time.Minute, run: caseLargeFile},
		{name: "posix/read-eof", run: caseReadAtEOF},
		{name: "posix/symlink-targets", run: caseSymlinkTargets},
		{name: "posix/symlink-escape", run: caseSymlinkEscape},
		{name: "posix/hardlink", run: caseHardLink},
		{name: "posix/modes", run: caseModes},
		{name: "posix/setgid-dir", run: caseSetgidDir},
		{name: "posix/refusals", run: caseRefusals},
		{name: "posix/name-length", run: caseNameLength},
		{name: "posix/case-rename", run: caseCaseRename},
		{name: "posix/odd-names", run: caseOddNames},
		{name: "posix/fifo-socket", run: caseFifoSocket},
		{name: "posix/mknod", run: caseMknod},

		{name: "macos/dotfiles", run: caseMacDotFiles},
		{name: "macos/safe-save", run: caseMacSafeSave},
		{name: "macos/lockfile", run: caseMacLockFile},

		{name: "owner/caller-uid", run: caseCallerOwner},
	}
	return append(cases, permissionCases()...)
}

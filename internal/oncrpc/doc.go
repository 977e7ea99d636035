// Package oncrpc implements ONC RPC version 2 (RFC 5531) over TCP: record
// marking, a server that dispatches calls to registered programs, and a
// client for tests, benchmarks and the host helper.
//
// # Server
//
// A Server serves any number of programs and versions on one listener.
// Each connection has one reader goroutine that reads records, decodes
// call headers and sends rejections (RPC_MISMATCH, AUTH_ERROR,
// PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL) itself. Every accepted call
// runs its Handler on a goroutine of its own, an idle one kept by the
// connection or a new one, so a slow call does not delay a fast one on the
// same connection, and replies go out in completion order.
// At most Options.MaxInFlightPerConn calls of a connection, and at most
// Options.MaxInFlight calls of all connections, run at once. While either
// limit is reached, the reader stops reading until a call finishes, so
// TCP flow control slows the client down. Each reply is one record of one
// fragment. One goroutine at a time writes to a connection, and replies of
// up to 64 KiB that finish meanwhile are collected and go out together in
// its next write (at most 256 KiB are collected per connection).
//
// # Limits
//
// The server closes a connection without a reply when Options.AcceptConn
// rejects it or Options.MaxConns connections are already open. It also
// closes a connection that sends a record over Options.MaxRecordSize, that
// is idle for Options.IdleTimeout, or whose reply write blocks for
// Options.WriteTimeout. Each limit has a default. Rejections at accept and waits on the in-flight limits are
// logged at most once a minute per remote address, with a "suppressed"
// count of the lines held back since the previous one.
//
// Only AUTH_NONE and AUTH_SYS credentials are accepted, each with an empty
// AUTH_NONE verifier; replies carry an AUTH_NONE verifier. A message that
// is not a call, or a call header cut off before its credential, closes
// the connection without a reply, as does a record larger than
// Options.MaxRecordSize or a handler panic.
//
// # Handler contract
//
// Handlers run concurrently with each other, also for one connection, and
// must be safe for concurrent use. The Call, its Sys credential, the
// argument bytes and the result Encoder belong to the server and are
// reused once the handler returns, so a handler must copy anything it
// keeps. The result Encoder already holds the reply header: a handler only
// appends its results and never truncates below the length it was given.
// The context passed to a handler is canceled when the server closes the
// connection early: after a handler panic, a failed reply write, or the
// end of Shutdown's context.
//
// # Client
//
// A Client is safe for concurrent use. Calls from many goroutines share
// one connection, and one reader goroutine matches replies to calls by
// xid. A reply other than SUCCESS becomes an *AcceptError or a
// *RejectedError.
package oncrpc

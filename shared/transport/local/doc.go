// Package local is raprov's embedded transport: durable queues, their
// dead letters and the status ledger in one SQLite file, for running every
// step in one process. It uses maragu.dev/goqite's table and semantics on
// modernc.org/sqlite (no cgo).
//
// # Delivery
//
// Queue implements transport.Queue. A received message is hidden for the
// queue's Visibility. The handler acknowledges it itself, with exactly one
// of Forward (publish the step's output and delete the input), Delete or
// DeadLetter; if it returns an error, panics or the process dies, the
// message is delivered again once the visibility timeout has passed, with
// Received incremented. A message received MaxReceive times without
// acknowledgement is moved to the dead-letter table with reason
// transport.ReasonMaxReceive (goqite would leave it in its table, never
// delivered again). Delays are goqite's: a message sent with a Delay is
// invisible until it has passed.
//
// # Atomic hops
//
// Queue.Forward sends a step's output messages, records its ledger entries
// and deletes (or dead-letters) its input in one SQLite transaction: a local
// hop is never lost or duplicated, even under kill -9, and of two racing
// deliveries of one message only one hop commits. Side effects outside the
// database (Microsoft Graph calls) are not covered: steps stay idempotent.
//
// The same database holds the status ledger (Store.Ledger) and the
// request id claims of intake (Store.Claims).
//
// # Consumers
//
// Consume runs a handler over a queue with bounded concurrency, polling
// with backoff when idle and waking as soon as a message sent to the queue
// through the same Store is visible (at once, or when its delay has
// passed), extending the visibility of long-running handlers and draining
// gracefully on shutdown.
//
// # Durability and concurrency
//
// The database runs in WAL mode with synchronous=NORMAL: whatever a call
// reported as done survives a crash of the process; a power failure may
// lose the last transactions but never corrupts the file. Writes go
// through a single connection owned by one goroutine, which commits the
// writes waiting at any moment together, each in its own savepoint, so
// concurrent workers never see SQLITE_BUSY and each commit is shared.
// Another process (an operator CLI) may open the same file; it waits up to
// Options.BusyTimeout for the write lock.
package local
